"""The log scan (issue 15, point 4): no CPF, CNPJ, phone number or token in any log line of the
whole test run, the processes the tests spawn included.

How it stays reliable and cheap:

- **In the test process** a handler on the root logger formats every record exactly as the
  services write it (the kit's ``TextFormatter``, redaction included) and scans that line.
- **Spawned processes** (the integration tests' AvAdmin, StockTech, Lucrum, the dev stack)
  inherit ``AVELAR_LOG_COPY_DIR``; the kit's ``configure_logging`` then also writes every line
  it emits to ``<dir>/<pid>.log``, scanned at the end of the session.
- **What counts as a leak**: a value the tests planted (``plant(...)``: the CPFs, CNPJs and
  WhatsApp numbers of the conftests, in any of their spellings), or anything shaped like a JWT,
  a Brazilian E.164 number or a formatted CPF/CNPJ. One compiled regex; a line is scanned once.

At the end of the session the findings (masked) are printed and the run fails.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

COPY_DIR_ENV = "AVELAR_LOG_COPY_DIR"

_SHAPES = [
    r"eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+",   # a JWT
    r"\+55\s?\(?[1-9]{2}\)?\s?9?\d{4}-?\d{4}\b",                      # a Brazilian phone
    r"\(\d{2}\)\s?9?\d{4}-\d{4}\b",                                      # as people write it
    r"\b\d{3}\.\d{3}\.\d{3}-\d{2}\b",                                  # a formatted CPF
    r"\b\d{2}\.\d{3}\.\d{3}/\d{4}-\d{2}\b",                            # a formatted CNPJ
]


def _spellings(value: str) -> set[str]:
    digits = re.sub(r"\D", "", value)
    out = {value}
    if len(digits) >= 8 and not re.search(r"[A-Za-z]", value):
        out.add(digits)
        if digits.startswith("55") and len(digits) in (12, 13):
            out.add(digits[2:])           # the national number
    return {s for s in out if len(s) >= 8}


class Scanner:
    def __init__(self) -> None:
        self.planted: set[str] = set()
        self.findings: list[tuple[str, str]] = []
        self._regex: re.Pattern[str] | None = None

    def plant(self, values: Iterable[str]) -> None:
        for value in values:
            self.planted |= _spellings(str(value))
        self._regex = None

    @property
    def regex(self) -> re.Pattern[str]:
        if self._regex is None:
            planted = [re.escape(v) for v in sorted(self.planted, key=len, reverse=True)]
            parts = [rf"(?<![0-9A-Za-z]){p}(?![0-9A-Za-z])" for p in planted] + _SHAPES
            self._regex = re.compile("|".join(parts))
        return self._regex

    def scan(self, line: str, where: str) -> None:
        match = self.regex.search(line)
        if match is not None:
            self.findings.append((where, line))

    def scan_file(self, path: Path) -> None:
        try:
            text = path.read_text(errors="replace")
        except OSError:
            return
        for n, line in enumerate(text.splitlines(), 1):
            self.scan(line, f"{path.name}:{n}")

    def report(self) -> list[str]:
        def mask(line: str) -> str:
            return self.regex.sub(lambda m: m.group(0)[:3] + "…", line)[:300]

        return [f"{where}: {mask(line)}" for where, line in self.findings]


SCANNER = Scanner()


def plant(*values: str) -> None:
    """Values the tests plant (CPFs, CNPJs, phone numbers) that must never reach a log line."""
    SCANNER.plant(values)


class _ScanHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        from avelar_kit.logging import TextFormatter, _ContextFilter

        self.setFormatter(TextFormatter())
        self.addFilter(_ContextFilter("test"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:  # a broken record is the logging library's problem, not a leak
            return
        # Services' processes leave the caller's file out of their records
        # (avelar_kit.logging.configure_logging): then the logger's name says where.
        where = record.name
        if record.lineno:
            where += f" ({record.pathname.rsplit('/', 1)[-1]}:{record.lineno})"
        SCANNER.scan(line, where)


_state: dict[str, object] = {}


def start() -> None:
    """Called at pytest_configure: the in-process handler and the spawned processes' copy dir."""
    if os.environ.get("AVELAR_LOG_SCAN", "on") == "off":
        return
    handler = _ScanHandler()
    logging.getLogger().addHandler(handler)
    _state["handler"] = handler
    if COPY_DIR_ENV not in os.environ:
        copy_dir = tempfile.mkdtemp(prefix="avelar-logscan-")
        os.environ[COPY_DIR_ENV] = copy_dir
        _state["copy_dir"] = copy_dir


def finish() -> list[str]:
    """Called at pytest_sessionfinish: scan the spawned processes' lines; return the report."""
    handler = _state.pop("handler", None)
    if handler is None:
        return []
    logging.getLogger().removeHandler(handler)  # type: ignore[arg-type]
    copy_dir = _state.pop("copy_dir", None)
    if isinstance(copy_dir, str):
        # This process's own copies repeat what the handler above already scanned.
        own = f"-{os.getpid()}.log"
        for path in sorted(Path(copy_dir).glob("*.log")):
            if not path.name.endswith(own):
                SCANNER.scan_file(path)
        import shutil

        shutil.rmtree(copy_dir, ignore_errors=True)
        os.environ.pop(COPY_DIR_ENV, None)
    return SCANNER.report()
