"""The run's log scan (issue 15, point 4) finds what it must and nothing else: planted values in
any spelling and token/phone/document shapes, in the test process and in spawned processes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from avelar_kit.logging import redact
from avelar_kit.testing.logscan import COPY_DIR_ENV, Scanner

CPF, CNPJ, PHONE = "52998224725", "11222333000181", "+5511987654321"


def _scanner() -> Scanner:
    s = Scanner()
    s.plant([CPF, CNPJ, PHONE])
    return s


def test_planted_values_and_shapes_are_found_in_any_spelling() -> None:
    leaky = [f"login {CPF} refused", "cpf 529.982.247-25", f"company {CNPJ}",
             "to 5511987654321", "to (11) 98765-4321 or 11987654321", f"to {PHONE}",
             "Authorization: eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl",
             "call +55 21 99876-5432"]
    s = _scanner()
    for line in leaky:
        s.scan(line, "t")
    assert [line for _, line in s.findings] == leaky
    assert all(CPF not in r and "98765" not in r for r in s.report())  # the report is masked


def test_ordinary_lines_are_not_findings() -> None:
    s = _scanner()
    for line in ["[AvAdmin] INFO: POST /api/auth/login 200 31.2ms request_id=4f1c2e",
                 "user 3f2b6a1e-1c1d-4a53-9b32-1a2b3c4d5e6f deactivated",
                 "2026-12-01T19:28:46.123456+00:00 paid_until 2026-12-31",
                 "ledger 1529982247251 rows", "code ST123456A", "[cpf] [telefone] [token]"]:
        s.scan(line, "t")
    assert s.findings == []


def test_the_kit_formatter_masks_phone_numbers() -> None:
    assert redact(f"message to {PHONE}") == "message to [telefone]"
    assert redact("ligue (11) 98765-4321") == "ligue [telefone]"


def test_a_leak_in_the_test_process_or_a_spawned_one_fails_the_run(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_leaky.py").write_text(textwrap.dedent(f'''
        import logging, subprocess, sys
        from avelar_kit.testing.logscan import plant

        plant("{CPF}", "{PHONE}")

        def test_leaks():
            # What the kit's redaction does not mask (no word boundary) and the scan catches.
            logging.getLogger("leaky").warning("login refused: key cpf_%s", "{CPF}")
            child = ("from avelar_kit.logging import configure_logging; import logging; "
                     "configure_logging('Child'); "
                     "logging.getLogger('x').info('call 55' + '11987654321')")
            subprocess.run([sys.executable, "-c", child], check=True)
    '''))
    env = {k: v for k, v in os.environ.items() if k != COPY_DIR_ENV}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "avelar_kit.testing.plugin",  # noqa: S603
                          "-p", "no:cacheprovider", str(tmp_path / "test_leaky.py")],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    out = run.stdout + run.stderr
    assert run.returncode == 1, out
    assert "log scan" in out and "2 log line(s)" in out, out
    assert "leaky" in out and "Child-" in out, out
    assert CPF not in out.split("log scan")[-1], out


def _redact_each(text: str) -> str:
    from avelar_kit.logging import _REDACTIONS

    for pattern, repl in _REDACTIONS:
        text = pattern.sub(repl, text)
    return text


def test_the_one_scan_of_redact_misses_nothing_the_masks_would_change() -> None:
    """``redact`` scans a line once for any mask and runs the masks only where one matches
    (issue 10: every access line paid eight scans): on any text it answers exactly what the
    masks one by one answer."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    pieces = st.sampled_from([
        CPF, "529.982.247-25", CNPJ, "11.222.333/0001-81", "12.ABC.345/01DE-35", PHONE,
        "+55 21 99876-5432", "(11) 98765-4321", "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiIxMjMifQ.c2ln",
        "Bearer abc.def", "BEARER x", "password=hunter2", "Senha: x", "client_secret=y",
        "TOKEN = z", "GET /api/users/fae15102-23b9-478c-9cb8-b59b07c7bca3 200 3.1ms",
        "/.well-known/jwks.json", " ", "-", ".", "/", "(", ")", "+", "9", "55", "eyJ", "a"])
    examples = st.lists(st.one_of(pieces, st.text(alphabet="0123456789.-/()+ :=abAB",
                                                  max_size=20)), max_size=8).map("".join)

    @settings(max_examples=600, deadline=None, database=None)
    @given(examples)
    def agrees(text: str) -> None:
        assert redact(text) == _redact_each(text)

    agrees()
    # And the access line, the commonest line, is left as it is.
    line = "GET /api/users/fae15102-23b9-478c-9cb8-b59b07c7bca3 200 3.1ms"
    assert redact(line) == line


def test_the_access_line_redacts_the_client_s_path_in_the_message_and_the_json_field() -> None:
    """The access line skips the formatter's redaction (issue 10): its method and path are
    redacted when the line is made, and so is the JSON line's ``path`` field, which no
    redaction reached before."""
    import json as json_
    import logging

    from avelar_kit.logging import JsonFormatter, TextFormatter, log_access

    lines: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record)

    logger = logging.getLogger("avelar.access.test")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.addHandler(Keep())
    scope = {"method": "GET", "path": f"/api/users/by-cpf/{CPF}", "state": {}}
    log_access(logger, scope, "/api/users/by-cpf/{cpf}", 404, 0.0021)
    record = lines[-1]
    text = TextFormatter().format(record)
    data = json_.loads(JsonFormatter().format(record))
    assert CPF not in text and "/api/users/by-cpf/[cpf] 404 2.1ms" in text
    assert CPF not in data["message"] and data["path"] == "/api/users/by-cpf/[cpf]"
    assert data["route"] == "/api/users/by-cpf/{cpf}" and data["status"] == 404


def test_a_long_path_is_redacted_too_and_not_kept() -> None:
    """Only short paths are kept redacted (a bounded cache of short strings); a long one a
    client made up is redacted each time."""
    import logging

    from avelar_kit.logging import _redacted_request, log_access

    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    logger = logging.getLogger("avelar.access.test-long")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.addHandler(Keep())
    before = _redacted_request.cache_info().currsize
    path = "/x/" + "a" * 400 + f"/{CPF}"
    log_access(logger, {"method": "GET", "path": path, "state": {}}, "<unmatched>", 404, 0.001)
    assert CPF not in lines[-1] and "[cpf]" in lines[-1]
    assert _redacted_request.cache_info().currsize == before
