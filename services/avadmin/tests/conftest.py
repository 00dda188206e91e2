from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from pydantic import SecretStr

from avadmin.cli import _create_operator
from avadmin.config import Settings
from avadmin.main import create_app
from avadmin.security.keys import KeyRing
from avadmin.seed import seed_plans
from avelar_kit.auth.signing import SigningKey
from avelar_kit.db.tenancy import act_as_system
from avelar_kit.testing.database import truncate_all
from avelar_kit.testing.logscan import plant
from avelar_kit.testing.plugin import migrated_database, owner_url
from avelar_standins.server import BackgroundServer
from avelar_standins.whatsapp import create_app as create_standin

SERVICE_DIR = Path(__file__).resolve().parents[1]
STANDIN_TOKEN = "test-whatsapp-token"


@pytest.fixture(scope="session")
def avadmin_db_url(pg_url: str) -> Iterator[str]:
    yield from migrated_database(pg_url, "avadmin", SERVICE_DIR)


@pytest.fixture(scope="session")
def signing_key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture(scope="session")
def whatsapp_standin() -> Iterator[BackgroundServer]:
    """The WhatsApp Cloud API stand-in over real HTTP: the real adapter talks to it."""
    server = BackgroundServer(create_standin(access_token=STANDIN_TOKEN)).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def settings(avadmin_db_url: str, redis_url: str,
             whatsapp_standin: BackgroundServer) -> Settings:
    # A stream of its own, so that parallel runs on a shared Redis never read each other's events.
    run = uuid.uuid4().hex[:8]
    return Settings(database_url=avadmin_db_url, redis_url=redis_url,
                    db_pool_size=2, db_max_overflow=20,
                    events_stream=f"avelar:test:{run}:events:avadmin",
                    whatsapp_api_url=whatsapp_standin.url, whatsapp_phone_number_id="10987654321",
                    whatsapp_access_token=SecretStr(STANDIN_TOKEN),
                    # Tests deliver explicitly (``deliver``) and feed events themselves.
                    messaging_enabled=False, notifications_enabled=False,
                    # Tests run the privacy job themselves (``app.state.privacy.run()``); the
                    # app's own 30 s tick took an export between a test's two runs (CI run).
                    privacy_job_interval_seconds=86_400,
                    rate_limit_prefix=f"avelar:test:{run}:limits",
                    notifications_stocktech_stream=f"avelar:test:{run}:events:stocktech")


@pytest.fixture(scope="session")
async def app(settings: Settings, signing_key: SigningKey) -> AsyncIterator[FastAPI]:
    application = create_app(settings, keyring=KeyRing(signing_key))
    async with LifespanManager(application, startup_timeout=60, shutdown_timeout=60):
        yield application
        # The run's own stream: nothing else reads it, so it goes with the run.
        await application.state.redis.delete(settings.events_stream)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://avadmin.test") as c:
        yield c
    await truncate_all(owner_url(app.state.settings.database_url))
    # Limits and cooldowns start again with every test; so does the stand-in's inbox.
    redis = app.state.redis
    keys = [k async for k in redis.scan_iter(match=f"{app.state.settings.rate_limit_prefix}:*")]
    if keys:
        await redis.delete(*keys)
    app.state.limiter._local.clear()
    inbox = app.state.settings.whatsapp_api_url
    async with httpx.AsyncClient(base_url=inbox) as c:
        await c.delete("/_standin/messages")


@pytest.fixture
async def plans(app: FastAPI, client: httpx.AsyncClient) -> dict[str, Any]:
    async with app.state.db.sessionmaker() as session, session.begin():
        await act_as_system(session)  # as the seed command does (the platform's work)
        created = await seed_plans(session)
    return {name: plan.id for name, plan in created.items()}


# Valid documents for tests (check digits computed).
CPFS = ["52998224725", "11144477735", "12345678909", "98765432100", "39053344705",
        "71428793860", "24843803480", "86288366757", "15350946056", "04710633045"]
CNPJS = ["11222333000181", "11444777000161", "12ABC34501DE35", "45997418000153",
         "19131243000197"]


def number_for(cpf: str) -> str:
    """A distinct mobile per CPF (E.164), so that per-number limits never cross tests."""
    digits = "".join(c for c in cpf if c.isdigit())
    return f"+551199{digits[:7]}"


# None of these may reach a log line (the run's log scan fails on any).
plant(*CPFS, *CNPJS, *map(number_for, CPFS))


def signup_body(cnpj: str = CNPJS[0], cpf: str = CPFS[0], plan: str = "Empresa",
                password: str = "senhaSegura123") -> dict[str, Any]:
    number = number_for(cpf)
    return {
        "company": {"company_name": "Empresa Teste LTDA", "cnpj": cnpj,
                    "whatsapp": number, "responsible_name": "Maria Teste"},
        "admin": {"full_name": "Maria Teste", "cpf": cpf, "whatsapp": number,
                  "password": password},
        "plan_name": plan,
    }


async def deliver(app: FastAPI) -> int:
    """Run the WhatsApp dispatcher once, as its background loop would after the commit."""
    return int(await app.state.dispatcher.deliver_due())


async def inbox(app: FastAPI, number: str, template: str | None = None) -> list[dict[str, Any]]:
    """What the stand-in received for ``number`` (E.164 or digits)."""
    async with httpx.AsyncClient(base_url=app.state.settings.whatsapp_api_url) as c:
        resp = await c.get("/_standin/messages",
                           params={"to": number, **({"template": template} if template else {})})
    return list(resp.json()["messages"])


async def last_code(app: FastAPI, number: str) -> str:
    """Deliver what is due, then read the newest code the stand-in got for ``number``."""
    await deliver(app)
    msgs = await inbox(app, number, "avelar_codigo")
    assert msgs, f"no code reached {number[-4:]}"
    return str(msgs[-1]["components"][0]["parameters"][0]["text"])


async def confirmed_signup(client: httpx.AsyncClient, app: FastAPI,
                           body: dict[str, Any]) -> httpx.Response:
    """Signup as a person does it: ask, read the code on the WhatsApp (stand-in), confirm."""
    started = await client.post("/api/auth/signup", json=body)
    assert started.status_code == 202, started.text
    code = await last_code(app, body["admin"]["whatsapp"])
    return await client.post("/api/auth/signup/confirm",
                             json={"signup_id": started.json()["signup_id"], "code": code})


class Company:
    def __init__(self, data: dict[str, Any], password: str) -> None:
        self.data = data
        self.account_id = uuid.UUID(data["account"]["id"])
        self.user_id = uuid.UUID(data["user"]["id"])
        self.cpf = data["user"]["cpf"]
        self.password = password
        self.access = data["access_token"]
        self.refresh = data["refresh_token"]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access}"}


@pytest.fixture
def signup(client: httpx.AsyncClient, plans: dict[str, Any], app: FastAPI) -> Any:
    async def _signup(cnpj: str = CNPJS[0], cpf: str = CPFS[0], plan: str = "Empresa",
                      password: str = "senhaSegura123") -> Company:
        resp = await confirmed_signup(client, app, signup_body(cnpj, cpf, plan, password))
        assert resp.status_code == 201, resp.text
        return Company(resp.json(), password)

    return _signup


@pytest.fixture
async def operator(client: httpx.AsyncClient, app: Any) -> dict[str, str]:
    await _create_operator(app.state.settings, "Ops@AvelarSys.com.br", "Equipe", "operador12345")
    resp = await client.post("/api/operator/login",
                             json={"email": "ops@avelarsys.com.br", "password": "operador12345"})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}
