"""Per-module logs in the seed's format, ``[AvAdmin] INFO: message``, or JSON lines.

Every line carries the request id of the request it belongs to (an event consumer sets the id
of the request that caused the event while it handles it). In JSON, lines also carry the trace
id, and the access line the route template, status, duration and company id. A redaction filter
masks what looks like a CPF, a CNPJ, a phone number or a token, so that personal data and
secrets never reach a log line even when a message is careless (the test suite's log scan,
``avelar_kit.testing.logscan``, checks every line of a run).
"""

from __future__ import annotations

import functools
import json
import logging
import logging.config
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opentelemetry import trace
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_request_id: ContextVar[str | None] = ContextVar("avelar_request_id", default=None)
# The client address of the request being served (the audit trail records it; ADR 0017).
_client_address: ContextVar[str | None] = ContextVar("avelar_client_address", default=None)

REQUEST_ID_HEADER = "x-request-id"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

# Masks: JWTs (three base64url parts), 11/14-digit documents with or without masks,
# alphanumeric CNPJ, and password/secret key-value pairs.
_REDACTIONS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), "[token]"),
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/-]+=*"), r"\1[token]"),
    (re.compile(r"\b\d{2}\.?\d{3}\.?\d{3}/?\d{4}-?\d{2}\b"), "[cnpj]"),
    (re.compile(r"\b[0-9A-Z]{2}\.?[0-9A-Z]{3}\.?[0-9A-Z]{3}/?[0-9A-Z]{4}-?\d{2}\b"), "[cnpj]"),
    (re.compile(r"\b\d{3}\.?\d{3}\.?\d{3}-?\d{2}\b"), "[cpf]"),
    # Brazilian phone numbers: E.164 (+5511987654321) and as people write them.
    (re.compile(r"\+55\s?\(?[1-9]{2}\)?\s?9?\d{4}-?\d{4}\b"), "[telefone]"),
    (re.compile(r"\(\d{2}\)\s?9?\d{4}-\d{4}\b"), "[telefone]"),
    (
        re.compile(r"(?i)((?:password|senha|secret|client_secret|token)\s*[=:]\s*)\S+"),
        r"\1[redacted]",
    ),
]

# All the masks as one alternation, for one scan of a line: most lines (every access line)
# match none of them, and one ``search`` costs a fraction of eight ``sub`` calls. Where it finds
# something, the masks run one by one as before. Inline flags become scoped ones (``(?i)`` is
# allowed only at the start of a whole expression).
_ANY_REDACTION = re.compile("|".join(
    f"(?i:{p.pattern[4:]})" if p.pattern.startswith("(?i)") else f"(?:{p.pattern})"
    for p, _ in _REDACTIONS))


def redact(text: str) -> str:
    if _ANY_REDACTION.search(text) is None:
        return text
    for pattern, repl in _REDACTIONS:
        text = pattern.sub(repl, text)
    return text


def current_request_id() -> str | None:
    return _request_id.get()


def current_client_address() -> str | None:
    """The address of the client of the request being served (as uvicorn saw it: a trusted
    proxy's X-Forwarded-For already applied), or None outside a request."""
    return _client_address.get()


def new_request_id() -> str:
    """32 hex digits from the OS's random source: uuid4().hex's form, at a third of its cost
    (it builds a UUID object first; every request makes one)."""
    return os.urandom(16).hex()


def valid_request_id(value: str | None) -> str | None:
    """``value`` when it is a sane request id (what a caller may send), else None."""
    return value if value and _VALID_REQUEST_ID.match(value) else None


@contextmanager
def request_id_context(value: str | None) -> Iterator[None]:
    """Log lines inside the block carry ``value`` as their request id (event handling)."""
    token = _request_id.set(value)
    try:
        yield
    finally:
        _request_id.reset(token)


def _current_trace_id() -> str | None:
    """The current OpenTelemetry trace id (hex), if a span (recording or not) is current."""
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None


# Access-line fields that JSON lines carry as fields (text lines keep them in the message).
_ACCESS_FIELDS = ("method", "path", "route", "status", "duration_ms", "company_id")


def _message(record: logging.LogRecord) -> str:
    """The record's message, redacted, unless it was built only of redacted parts (the access
    line: ``log_access``)."""
    msg = record.getMessage()
    return msg if getattr(record, "avelar_redacted", False) else redact(msg)


class _ContextFilter(logging.Filter):
    def __init__(self, module: str) -> None:
        super().__init__()
        self.module = module

    def filter(self, record: logging.LogRecord) -> bool:
        record.avelar_module = self.module
        record.request_id = _request_id.get()
        return True


class TextFormatter(logging.Formatter):
    """``[Module] LEVEL: message`` (the seed's format) plus ``request_id=`` when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        msg = _message(record)
        line = f"[{getattr(record, 'avelar_module', '?')}] {record.levelname}: {msg}"
        rid = getattr(record, "request_id", None)
        if rid:
            line += f" request_id={rid}"
        if record.exc_info:
            line += "\n" + redact(self.formatException(record.exc_info))
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "module": getattr(record, "avelar_module", None),
            "level": record.levelname,
            "logger": record.name,
            "message": _message(record),
        }
        rid = getattr(record, "request_id", None)
        if rid:
            data["request_id"] = rid
        trace_id = _current_trace_id()
        if trace_id:
            data["trace_id"] = trace_id
        for name in _ACCESS_FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                data[name] = value
        if record.exc_info:
            data["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(data, ensure_ascii=False)


def configure_logging(module: str, fmt: str = "text", level: str = "INFO", *,
                      access_log: bool = True) -> None:
    """Configure root logging for a service process. Idempotent.

    ``access_log=False`` (``<PREFIX>_ACCESS_LOG=false``, ``serve --no-access-log``): no access
    line at all. The kit's line is the only one (uvicorn's own is always off, below), so
    this is what the setting turns off; the request histogram and the traces stay.

    The records leave out what no formatter of ours prints, as the Logging HOWTO's
    "Optimization" section says to: the caller's file and line (``logging._srcfile = None``:
    one ``sys._getframe`` walk per record), the thread, the process and its multiprocessing
    name. Every request writes an access line, and these were a third of its cost."""
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    formatter: logging.Formatter = JsonFormatter() if fmt == "json" else TextFormatter()
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    handler.addFilter(_ContextFilter(module))
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_avelar", False):
            root.removeHandler(old)
            if isinstance(old, logging.FileHandler):
                old.close()
    handler._avelar = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    copy_dir = os.environ.get("AVELAR_LOG_COPY_DIR")
    if copy_dir:
        # The test run's log scan reads what every process it spawned wrote (issue 15).
        copy = logging.FileHandler(Path(copy_dir) / f"{module}-{os.getpid()}.log",
                                   encoding="utf-8", delay=True)
        copy.setFormatter(formatter)
        copy.addFilter(_ContextFilter(module))
        copy._avelar = True  # type: ignore[attr-defined]
        root.addHandler(copy)
    root.setLevel(level.upper())
    # uvicorn's own access log duplicates ours and has no request id.
    logging.getLogger("uvicorn.access").disabled = True
    access_logger().disabled = not access_log
    for name in ("uvicorn", "uvicorn.error"):
        lg = logging.getLogger(name)
        lg.handlers = []
        lg.propagate = True
    logging.getLogger("httpx").setLevel(logging.WARNING)


# Paths polled by probes and scrapers: no access line (they would drown the log).
QUIET_PATHS = frozenset({"/health", "/health/live", "/health/ready", "/metrics"})
UNMATCHED_ROUTE = "<unmatched>"

# (route template, method, status, seconds): the HTTP metrics observer (avelar_kit.metrics).
HttpObserver = Callable[[str, str, int, float], None]
_UNSET: object = object()


request_id_var = _request_id  # the kit frame's middleware sets both (avelar_kit.middleware)
client_address_var = _client_address


def access_logger(name: str = "avelar.access") -> logging.Logger:
    return logging.getLogger(name)


def log_access(logger: logging.Logger, scope: Scope, route: str, status: int,
               elapsed: float) -> None:
    """The access line of one request (not for probes and scrapes), with the company id when
    the request was authenticated as a user."""
    path = scope.get("path", "")
    if path in QUIET_PATHS or not logger.isEnabledFor(logging.INFO):
        return
    method = scope.get("method", "")
    if len(path) <= _CACHED_PATH_MAX:
        method, path = _redacted_request(method, path)
    else:  # not kept: 4,096 long paths a client made up would hold megabytes
        method, path = redact(method), redact(path)
    principal = scope.get("state", {}).get("principal")
    company = getattr(principal, "account_id", None)
    ms = elapsed * 1000
    logger.info(
        "%s %s %s %.1fms", method, path, status, ms,
        extra={"method": method, "path": path, "route": route, "status": status,
               "duration_ms": round(ms, 1), "company_id": str(company) if company else None,
               "avelar_redacted": True})


_CACHED_PATH_MAX = 256


@functools.lru_cache(maxsize=4096)
def _redacted_request(method: str, path: str) -> tuple[str, str]:
    """The client's part of an access line, redacted once per distinct method and path (the
    rest of the line is numbers and the route template): the line skips the formatter's
    redaction, and the JSON line's ``path`` field is redacted too."""
    return redact(method), redact(path)


class RequestIdMiddleware:
    """Accepts a sane X-Request-ID or makes one, echoes it, and logs one access line per request
    (the web portal's; the kit frame's ``avelar_kit.middleware.KitMiddleware`` does the same
    and more in one layer).

    It also reports each request (route template, method, status, duration) to the app's
    ``state.http_observer`` when there is one (the Prometheus histogram)."""

    def __init__(self, app: ASGIApp, logger_name: str = "avelar.access") -> None:
        self.app = app
        self.logger = logging.getLogger(logger_name)
        self._observer: Any = _UNSET

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for key, value in scope.get("headers", []):
            if key == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        rid = incoming if incoming and _VALID_REQUEST_ID.match(incoming) else new_request_id()
        token = _request_id.set(rid)
        client = scope.get("client")
        address_token = _client_address.set(str(client[0])[:64] if client else None)
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - start
            route = getattr(scope.get("route"), "path", None) or UNMATCHED_ROUTE
            observer = self._observer
            if observer is _UNSET:  # resolved once: the app's state is set before serving
                state = getattr(scope.get("app"), "state", None)
                observer = self._observer = getattr(state, "http_observer", None)
            if observer is not None:
                observer(route, scope.get("method", ""), status, elapsed)
            log_access(self.logger, scope, route, status, elapsed)
            _request_id.reset(token)
            _client_address.reset(address_token)
