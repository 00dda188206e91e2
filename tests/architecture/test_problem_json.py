"""problem+json integrity (issue 8, point 6): ``status`` is always the HTTP status number and
extra members never overwrite the RFC 9457 ones, for every error the services raise."""

from __future__ import annotations

import ast
from pathlib import Path

import httpx
from fastapi import FastAPI

from avelar_kit.errors import AppError, Conflict, install_error_handlers

ROOT = Path(__file__).resolve().parents[2]
RESERVED = {"type", "title", "status", "detail", "instance", "code", "request_id"}
LOG_CALLS = {"debug", "info", "warning", "error", "exception", "critical", "log"}
SOURCES = [ROOT / "libs", ROOT / "services", ROOT / "examples", ROOT / "tools"]


def _literal_extra_keys(call: ast.Call) -> list[ast.Constant]:
    """The literal string keys of ``extra={...}`` in one call (none for a log call, whose
    ``extra`` is a log record's fields, not a problem's members)."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    if name in LOG_CALLS:
        return []
    return [key for kw in call.keywords if kw.arg == "extra" and isinstance(kw.value, ast.Dict)
            for key in kw.value.keys
            if isinstance(key, ast.Constant) and isinstance(key.value, str)]


def _extra_keys_in_source() -> list[tuple[str, int, str]]:
    """Every literal key given as ``extra={...}`` to an error, anywhere in production code."""
    found = []
    for base in SOURCES:
        for path in base.rglob("*.py"):
            if "/tests/" in str(path) or "/.venv/" in str(path):
                continue
            tree = ast.parse(path.read_text(), filename=str(path))
            for call in ast.walk(tree):
                if isinstance(call, ast.Call):
                    found += [(str(path.relative_to(ROOT)), key.lineno, str(key.value))
                              for key in _literal_extra_keys(call)]
    return found


def test_no_error_puts_an_rfc_member_in_its_extra_members() -> None:
    keys = _extra_keys_in_source()
    assert keys, "the scan found no extra members at all: it is not looking at the code"
    clashes = [k for k in keys if k[2] in RESERVED]
    assert clashes == []


async def test_extra_members_never_overwrite_the_rfc_ones() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom")
    async def boom() -> None:
        raise Conflict("A transação já está concluída", code="transaction_not_pending",
                       extra={"status": "completed", "type": "x", "title": "y",
                              "detail": "z", "instance": "w", "transaction_status": "completed"})

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        resp = await client.get("/boom")
    body = resp.json()
    assert resp.status_code == 409 and body["status"] == 409
    assert body["title"] == Conflict.title and body["detail"] == "A transação já está concluída"
    assert body["type"].endswith("/transaction-not-pending") and body["instance"] == "/boom"
    assert body["transaction_status"] == "completed"


def test_every_error_class_carries_a_4xx_or_5xx_status() -> None:
    def subclasses(cls: type[AppError]) -> list[type[AppError]]:
        out = []
        for sub in cls.__subclasses__():
            out.append(sub)
            out.extend(subclasses(sub))
        return out

    import avadmin.main  # noqa: F401  (load every module's error classes)
    import lucrum.main  # noqa: F401
    import stocktech.main  # noqa: F401

    classes = subclasses(AppError)
    assert len(classes) >= 8
    for cls in classes:
        assert 400 <= cls.status_code < 600, cls
