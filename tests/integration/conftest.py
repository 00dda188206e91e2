"""Cross-process tests: the real AvAdmin (uvicorn subprocess on a migrated test database), a
controllable HTTP proxy in front of it (request counts, injected delays), the outbox relay, and
the partner example module as the consuming module.

Stream and group names are unique per run so that parallel runs on one Redis never collide."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from asgi_lifespan import LifespanManager
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from avelar_kit.br.cnpj import compute_cnpj_check_digits
from avelar_kit.br.cpf import compute_cpf_check_digits
from avelar_kit.testing.logscan import plant
from avelar_kit.testing.plugin import migrated_database

ROOT = Path(__file__).resolve().parents[2]
AVADMIN_DIR = ROOT / "services" / "avadmin"
PARTNER_DIR = ROOT / "examples" / "partner_module"
if str(PARTNER_DIR) not in sys.path:
    sys.path.insert(0, str(PARTNER_DIR))

RUN_ID = uuid.uuid4().hex[:8]
STREAM = f"avelar:events:avadmin:test-{RUN_ID}"
# StockTech's outbox relay publishes here; Lucrum and AvAdmin's notifications consume it.
SALES_STREAM = f"avelar:events:stocktech:test-{RUN_ID}"
STANDIN_TOKEN = f"standin-{RUN_ID}"
OPERATOR_EMAIL = f"op-{RUN_ID}@avelarsys.test"
OPERATOR_PASSWORD = "operador-senha-forte-123"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def new_cpf() -> str:
    base = f"{random.randrange(10**8, 10**9):09d}"
    cpf = base + compute_cpf_check_digits(base)
    plant(cpf)  # the run's log scan fails if it reaches a log line of any process
    return cpf


def new_whatsapp() -> str:
    """A mobile of its own (E.164), so that the code read from the stand-in is this one's."""
    number = f"+551199{random.randrange(10**6, 10**7):07d}"
    plant(number)
    return number


async def read_code(standin_url: str, number: str, *, after: int = 0,
                    timeout: float = 15) -> str:
    """Poll the WhatsApp stand-in for the newest code sent to ``number`` (beyond the first
    ``after`` ones): AvAdmin's dispatcher delivers after the commit."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=standin_url, timeout=5) as c:
        while True:
            msgs = (await c.get("/_standin/messages", params={
                "to": number, "template": "avelar_codigo"})).json()["messages"]
            if len(msgs) > after:
                return str(msgs[-1]["components"][0]["parameters"][0]["text"])
            if time.monotonic() > deadline:
                raise AssertionError(f"no code reached …{number[-4:]} in {timeout}s")
            await asyncio.sleep(0.05)


async def signup_confirmed(avadmin_url: str, standin_url: str,
                           body: dict[str, Any]) -> dict[str, Any]:
    """Signup as a person does it: ask, read the code on WhatsApp (the stand-in), confirm."""
    async with httpx.AsyncClient(base_url=avadmin_url, timeout=10) as c:
        started = await c.post("/api/auth/signup", json=body)
        assert started.status_code == 202, started.text
        code = await read_code(standin_url, body["admin"]["whatsapp"])
        done = await c.post("/api/auth/signup/confirm",
                            json={"signup_id": started.json()["signup_id"], "code": code})
    assert done.status_code == 201, done.text
    return dict(done.json())


def new_cnpj() -> str:
    base = f"{random.randrange(10**7, 10**8):08d}0001"
    return base + compute_cnpj_check_digits(base)


class AvAdminProcess:
    """The real AvAdmin, started as ``uvicorn --factory avadmin.main:create_app``."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = Path(env["AVADMIN_LOG_FILE_FOR_TESTS"])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90) -> None:
        """Generous by default: on a loaded 2-core machine (load average 8-10) a start has
        taken more than 30 s."""
        if self.proc is not None and self.proc.poll() is None:
            return
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "uvicorn", "--factory", "avadmin.main:create_app",
                 "--host", "127.0.0.1", "--port", str(self.port), "--no-access-log"],
                env=self.env, stdout=log, stderr=log, cwd=ROOT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"AvAdmin exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=0.5).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.kill()  # never left running behind a failed start
        raise RuntimeError(f"AvAdmin did not start in {timeout} s")

    def kill(self) -> None:
        """AvAdmin crashes: SIGKILL, no graceful shutdown."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def cli(self, *args: str, stdin: str | None = None) -> str:
        out = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "avadmin.cli", *args], env=self.env, cwd=ROOT,
            input=stdin.encode() if stdin else None, capture_output=True, check=True, timeout=120)
        return out.stdout.decode()


@pytest.fixture(scope="session")
def avadmin_db_url(pg_url: str) -> Iterator[str]:
    yield from migrated_database(pg_url, "avadmin", AVADMIN_DIR)


@pytest.fixture(scope="session")
def partner_db_url(pg_url: str) -> Iterator[str]:
    yield from migrated_database(pg_url, "partner", PARTNER_DIR)


def whatsapp_env(standin_url: str, sales_stream: str) -> dict[str, str]:
    """AvAdmin's settings for WhatsApp through the real adapter to the stand-in, with quick
    retries, notifications from ``sales_stream`` and limits of its own for this run."""
    return {
        "AVADMIN_WHATSAPP_API_URL": standin_url,
        "AVADMIN_WHATSAPP_PHONE_NUMBER_ID": "100000000000000",
        "AVADMIN_WHATSAPP_ACCESS_TOKEN": STANDIN_TOKEN,
        "AVADMIN_MESSAGING_POLL_INTERVAL": "0.1",
        "AVADMIN_MESSAGING_BACKOFF_BASE": "0.2",
        "AVADMIN_MESSAGING_BACKOFF_MAX": "1",
        "AVADMIN_NOTIFICATIONS_STOCKTECH_STREAM": sales_stream,
        "AVADMIN_NOTIFICATIONS_GROUP": f"avadmin-notifications-{uuid.uuid4().hex[:8]}",
        "AVADMIN_RATE_LIMIT_PREFIX": f"avelar:test:{uuid.uuid4().hex[:8]}:limits",
        # Every test signs up from 127.0.0.1: the per-client limit is not under test here.
        "AVADMIN_OTP_MAX_PER_CLIENT": "100000",
    }


@pytest.fixture(scope="session")
def whatsapp_standin() -> Iterator[Any]:
    """The WhatsApp Cloud API stand-in over HTTP (in this process; AvAdmin reaches it by TCP)."""
    from avelar_standins.server import BackgroundServer
    from avelar_standins.whatsapp import create_app as create_standin

    server = BackgroundServer(create_standin(access_token=STANDIN_TOKEN)).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def avadmin_proc(avadmin_db_url: str, redis_url: str,
                 whatsapp_standin: Any) -> Iterator[AvAdminProcess]:
    tmp = Path(tempfile.mkdtemp(prefix="avadmin-it-"))
    env = {**os.environ, **whatsapp_env(whatsapp_standin.url, SALES_STREAM),
           "AVADMIN_DATABASE_URL": avadmin_db_url,
           "AVADMIN_REDIS_URL": redis_url,
           "AVADMIN_SIGNING_KEY_FILE": str(tmp / "signing.pem"),
           # Where AvAdmin's own relay publishes, if it runs one: the same unique stream.
           "AVADMIN_EVENTS_STREAM": STREAM,
           "AVADMIN_LOG_LEVEL": "WARNING",
           "AVADMIN_LOG_FILE_FOR_TESTS": str(tmp / "avadmin.log")}
    proc = AvAdminProcess(env)
    proc.cli("seed")
    proc.cli("create-operator", "--email", OPERATOR_EMAIL, "--name", "Operadora Teste",
             "--password-stdin", stdin=OPERATOR_PASSWORD + "\n")
    # The partner example shows the company's name: the one personal field it reads.
    creds = json.loads(proc.cli("create-service-client", f"partner-{RUN_ID}",
                                "--fields", "account.company_name"))
    proc.env["TEST_CLIENT_ID"] = creds["client_id"]
    proc.env["TEST_CLIENT_SECRET"] = creds["client_secret"]
    proc.start()
    try:
        yield proc
    finally:
        proc.kill()


@pytest.fixture
def avadmin(avadmin_proc: AvAdminProcess) -> AvAdminProcess:
    """AvAdmin running at the start of each test (a test that kills it need not restart it)."""
    avadmin_proc.start()
    return avadmin_proc


@pytest.fixture(scope="session")
async def relay(avadmin_db_url: str, redis_url: str) -> AsyncIterator[Any]:
    """The outbox relay over AvAdmin's database (in this process: AvAdmin may run its own as
    well; SKIP LOCKED lets both share the rows)."""
    import redis.asyncio as aioredis

    from avadmin.models import OutboxEvent
    from avelar_kit.db.session import Database
    from avelar_kit.events import OutboxRelay

    db = Database(avadmin_db_url, pool_size=2)
    r = aioredis.Redis.from_url(redis_url)
    relay = OutboxRelay(db.sessionmaker, r, model=OutboxEvent, stream=STREAM,
                        source="AvAdmin", poll_interval=0.1)
    await relay.start()
    try:
        yield relay
    finally:
        await relay.stop()
        await r.delete(STREAM)
        await r.aclose()
        await db.dispose()


class Proxy:
    """An HTTP proxy in front of AvAdmin: counts requests by path, injects delays, and answers
    502 when AvAdmin is gone (as a load balancer would)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.delay = 0.0
        self.requests: list[str] = []
        self.in_flight = 0  # requests received and not yet answered
        self.max_in_flight = 0
        self.port = 0
        self._client = httpx.AsyncClient(base_url=upstream, timeout=30)
        self.app = Starlette(routes=[Route("/{path:path}", self._forward,
                                           methods=["GET", "POST", "PATCH"])])
        self.server: uvicorn.Server | None = None
        self.task: asyncio.Task[None] | None = None

    def data_requests(self) -> list[str]:
        return [p for p in self.requests if p.startswith(("/api/users/", "/api/accounts/"))]

    async def _forward(self, request: Request) -> Response:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._forward_one(request)
        finally:
            self.in_flight -= 1

    async def _forward_one(self, request: Request) -> Response:
        self.requests.append(request.url.path)
        if self.delay:
            await asyncio.sleep(self.delay)
        headers = {k: v for k, v in request.headers.items()
                   if k in ("authorization", "content-type", "accept")}
        try:
            resp = await self._client.request(request.method, request.url.path,
                                              params=request.query_params,
                                              content=await request.body(), headers=headers)
        except httpx.TransportError:
            return Response(b'{"code":"bad_gateway"}', status_code=502,
                            media_type="application/problem+json")
        return Response(resp.content, status_code=resp.status_code,
                        media_type=resp.headers.get("content-type"))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(self.app, log_level="critical",
                                                   lifespan="off"))
        self.task = asyncio.create_task(self.server.serve(sockets=[sock]))
        while not self.server.started:  # noqa: ASYNC110 (uvicorn exposes a flag, no event)
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self.delay = 0
        if self.server is not None and self.task is not None:
            self.server.should_exit = True
            self.server.force_exit = True
            await self.task
        await self._client.aclose()


@pytest.fixture
async def proxy(avadmin: AvAdminProcess) -> AsyncIterator[Proxy]:
    p = Proxy(avadmin.url)
    await p.start()
    try:
        yield p
    finally:
        await p.stop()


@pytest.fixture
def partner_factory(
    partner_db_url: str, redis_url: str, avadmin_proc: AvAdminProcess
) -> Any:
    """Build the partner module's app against the proxy, with a unique cache namespace and
    consumer group (the module name doubles as the cache namespace)."""
    from partner_module.config import Settings
    from partner_module.main import create_app

    def _make(avadmin_url: str, **overrides: Any) -> Any:
        settings = Settings(
            database_url=partner_db_url, redis_url=redis_url, module_name="StockTech",
            avadmin_url=avadmin_url, avadmin_client_id=avadmin_proc.env["TEST_CLIENT_ID"],
            avadmin_client_secret=avadmin_proc.env["TEST_CLIENT_SECRET"],
            avadmin_events_stream=STREAM, consumer_group=f"partner-{uuid.uuid4().hex[:8]}",
            avadmin_cache_ttl=overrides.pop("cache_ttl", 300),
        )
        overrides.setdefault("consumer_options", {"block_ms": 100, "sweep_interval": 1.0})
        return create_app(settings, **overrides)

    return _make


class Partner:
    def __init__(self, app: Any, client: httpx.AsyncClient) -> None:
        self.app = app
        self.http = client

    @property
    def avadmin(self) -> Any:
        return self.app.state.avadmin


@pytest.fixture
async def partner_app(partner_factory: Any, proxy: Proxy) -> AsyncIterator[Any]:
    """Yields an async context factory: ``async with partner_app(**overrides) as p``."""
    import contextlib

    @contextlib.asynccontextmanager
    async def _ctx(**overrides: Any) -> AsyncIterator[Partner]:
        app = partner_factory(proxy.url, **overrides)
        # Generous bounds: a loaded machine (or a test that left AvAdmin slow behind the
        # proxy) must not turn a clean start or stop into a TimeoutError of the harness.
        async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60):
            # A unique cache namespace per test: the cache keys carry the module name.
            app.state.avadmin.cache.module = f"StockTech-{uuid.uuid4().hex[:6]}"
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://p.test",
                                         timeout=30) as client:
                yield Partner(app, client)

    return _ctx


class Company:
    def __init__(self, data: dict[str, Any]) -> None:
        self.account_id = uuid.UUID(data["account"]["id"])
        self.user_id = uuid.UUID(data["user"]["id"])
        self.access = data["access_token"]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access}"}


class AvAdminApi:
    """Drives the real AvAdmin over HTTP, as a person or an operator would."""

    def __init__(self, url: str, standin_url: str) -> None:
        self.url = url
        self.standin_url = standin_url

    async def signup(self, plan: str = "Empresa") -> Company:
        cpf, number = new_cpf(), new_whatsapp()
        body = {"company": {"company_name": "Empresa Integração LTDA", "cnpj": new_cnpj(),
                            "whatsapp": number, "responsible_name": "Maria Teste"},
                "admin": {"full_name": "Maria Teste", "cpf": cpf,
                          "whatsapp": number, "password": "senhaSegura123"},
                "plan_name": plan}
        return Company(await signup_confirmed(self.url, self.standin_url, body))

    async def add_user(self, company: Company) -> tuple[uuid.UUID, str]:
        cpf = new_cpf()
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as c:
            resp = await c.post(f"/api/accounts/{company.account_id}/users",
                                headers=company.headers,
                                json={"full_name": "Carlos Teste", "cpf": cpf,
                                      "whatsapp": "(11) 91234-5678", "password": "senhaSegura123",
                                      "role": "user"})
            assert resp.status_code == 201, resp.text
            uid = uuid.UUID(resp.json()["id"])
            login = await c.post("/api/auth/login", json={"cpf": cpf, "password": "senhaSegura123"})
            assert login.status_code == 200, login.text
        return uid, login.json()["access_token"]

    async def deactivate(self, company: Company, user_id: uuid.UUID) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as c:
            resp = await c.post(f"/api/users/{user_id}/deactivate", headers=company.headers)
        assert resp.status_code == 200, resp.text

    async def operator(self, method: str, path: str, json_body: Any = None) -> Any:
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as c:
            login = await c.post("/api/operator/login",
                                 json={"email": OPERATOR_EMAIL, "password": OPERATOR_PASSWORD})
            assert login.status_code == 200, login.text
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            resp = await c.request(method, path, headers=headers, json=json_body)
        assert resp.status_code < 300, resp.text
        return resp.json()


@pytest.fixture
def api(avadmin: AvAdminProcess, whatsapp_standin: Any) -> AvAdminApi:
    return AvAdminApi(avadmin.url, whatsapp_standin.url)
