from __future__ import annotations

import io
import json
import logging
from typing import Any

import httpx
from asgi_lifespan import LifespanManager

from avadmin.config import Settings
from avadmin.main import create_app
from avadmin.security.keys import KeyRing
from avelar_kit.auth.signing import SigningKey
from avelar_kit.logging import JsonFormatter, TextFormatter, _ContextFilter, redact

from .conftest import CPFS


async def test_health_reports_the_seed_fields(client: httpx.AsyncClient) -> None:
    resp = await client.get("/health")
    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] == "healthy"
    assert body["module"] == "AvAdmin"
    assert body["database"] == "connected"
    assert body["redis"] == "connected"
    assert "timestamp" in body


async def test_health_is_503_when_the_database_is_unreachable(settings: Settings) -> None:
    broken = settings.model_copy(update={
        "database_url": "postgresql+asyncpg://postgres@127.0.0.1:1/nada",
        "redis_url": "redis://127.0.0.1:1/0"})
    app = create_app(broken, keyring=KeyRing(SigningKey.generate()))
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            resp = await c.get("/health")
            # A request that needs the database gets a problem, not a crash page.
            plans = await c.get("/api/plans")
    assert resp.status_code == 503
    assert resp.json()["status"] == "unhealthy"
    assert resp.json()["database"] == "disconnected"
    assert resp.json()["redis"] == "disconnected"
    assert plans.status_code == 503
    assert plans.headers["content-type"] == "application/problem+json"
    assert plans.json()["code"] == "service_unavailable"
    assert plans.headers["retry-after"] == "5"


class _Capture:
    def __init__(self, fmt: logging.Formatter) -> None:
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(fmt)
        self.handler.addFilter(_ContextFilter("AvAdmin"))

    def __enter__(self) -> _Capture:
        logging.getLogger().addHandler(self.handler)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger().removeHandler(self.handler)

    @property
    def lines(self) -> list[str]:
        return [line for line in self.stream.getvalue().splitlines() if line]


async def test_request_id_is_echoed_made_and_logged(client: httpx.AsyncClient,
                                                   signup: Any) -> None:
    await signup()
    with _Capture(TextFormatter()) as cap:
        given = await client.get("/api/plans", headers={"X-Request-ID": "abc-123"})
        made = await client.get("/api/plans")
        evil = await client.get("/api/plans", headers={"X-Request-ID": "x\ny" * 100})
    assert given.headers["x-request-id"] == "abc-123"
    assert len(made.headers["x-request-id"]) == 32
    assert evil.headers["x-request-id"] != "x\ny" * 100
    access = [line for line in cap.lines if "GET /api/plans" in line]
    assert access[0].startswith("[AvAdmin] INFO: GET /api/plans 200")
    assert access[0].endswith("request_id=abc-123")
    assert all("request_id=" in line for line in access)


async def test_no_cpf_password_or_token_in_logs(client: httpx.AsyncClient, signup: Any) -> None:
    with _Capture(TextFormatter()) as cap:
        company = await signup()
        await client.post("/api/auth/login", json={"cpf": CPFS[0], "password": company.password})
        await client.post("/api/auth/login", json={"cpf": CPFS[0], "password": "errada123"})
        await client.get("/api/users/me", headers=company.headers)
        logging.getLogger("careless").info("cpf=%s token=%s senha: %s", "529.982.247-25",
                                           company.access, company.password)
    text = "\n".join(cap.lines)
    assert text  # something was logged
    for secret in (CPFS[0], "529.982.247-25", company.password, company.access,
                   company.access.split(".")[1]):
        assert secret not in text


def test_json_log_lines_carry_module_level_and_request_id() -> None:
    from avelar_kit.logging import request_id_context

    with _Capture(JsonFormatter()) as cap, request_id_context("rid-1"):
        logging.getLogger("x").warning("conta %s criada", "abc")
    record = json.loads(cap.lines[-1])
    assert record["module"] == "AvAdmin"
    assert record["level"] == "WARNING"
    assert record["message"] == "conta abc criada"
    assert record["request_id"] == "rid-1"


def test_redaction_patterns() -> None:
    assert redact("cpf 52998224725") == "cpf [cpf]"
    assert redact("cnpj 12.ABC.345/01DE-35") == "cnpj [cnpj]"
    assert redact("Authorization: Bearer abc.def") == "Authorization: Bearer [token]"
    assert redact("password=hunter2 ok") == "password=[redacted] ok"
    assert redact("GET /api/plans 200 3.1ms") == "GET /api/plans 200 3.1ms"
