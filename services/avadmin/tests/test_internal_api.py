"""The seed's internal API: service tokens read any id, a user token only its own company."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import event

from avadmin.security.scopes import KNOWN, STOCKTECH_FIELDS
from avelar_kit.auth.principal import Principal
from avelar_kit.auth.signing import SigningKey, base_claims
from avelar_kit.lean import LeanRead
from avelar_kit.settings import SERVICE_AUDIENCE, TOKEN_ISSUER

from .conftest import CNPJS, CPFS, number_for

# A client registered for every personal field (the seed's shape); see the scope tests below.
EVERY_FIELD = "internal " + " ".join(sorted(KNOWN))


def service_headers(key: SigningKey, scope: str = EVERY_FIELD) -> dict[str, str]:
    claims = base_claims(issuer=TOKEN_ISSUER, audience=SERVICE_AUDIENCE, subject="stocktech",
                         typ="service", ttl=900)
    claims["scope"] = scope
    return {"Authorization": f"Bearer {key.sign(claims)}"}


@pytest.fixture
async def two(signup: Any) -> tuple[Any, Any]:
    a = await signup(cnpj=CNPJS[0], cpf=CPFS[0])
    b = await signup(cnpj=CNPJS[1], cpf=CPFS[1], plan="Lojista")
    return a, b


async def test_service_token_reads_the_seed_fields(client: httpx.AsyncClient, two: Any,
                                                   signing_key: SigningKey) -> None:
    a, _ = two
    h = service_headers(signing_key)
    user = (await client.get(f"/api/users/{a.user_id}", headers=h)).json()
    assert set(user) == {"id", "full_name", "cpf", "whatsapp", "account_id", "role", "is_active",
                         "sessions_valid_after"}
    assert user["cpf"] == CPFS[0]
    assert user["whatsapp"] == number_for(CPFS[0])
    account = (await client.get(f"/api/accounts/{a.account_id}", headers=h)).json()
    assert set(account) == {"id", "company_name", "cnpj", "whatsapp", "enabled_modules",
                            "status", "plan"}
    assert account["plan"]["name"] == "Empresa"
    assert account["plan"]["max_products"] == 500
    assert account["plan"]["max_users"] == 5
    assert account["status"] == "active"
    plan = (await client.get(f"/api/accounts/{a.account_id}/plan", headers=h)).json()
    assert plan == {"id": plan["id"], "name": "Empresa", "max_products": 500, "max_users": 5,
                    "max_transactions": 2000, "features": ["whatsapp", "api_access", "reports"],
                    "status": "active"}


async def test_no_password_hash_anywhere(client: httpx.AsyncClient, two: Any,
                                         signing_key: SigningKey) -> None:
    a, _ = two
    h = service_headers(signing_key)
    for path in (f"/api/users/{a.user_id}", f"/api/accounts/{a.account_id}",
                 f"/api/accounts/{a.account_id}/users", "/api/users/me"):
        resp = await client.get(path, headers=a.headers if "me" in path or "users" in path
                                else h)
        assert resp.status_code == 200, (path, resp.text)
        assert "password" not in resp.text
        assert "$argon2" not in resp.text


async def test_user_token_reads_own_company_only(client: httpx.AsyncClient, two: Any) -> None:
    a, b = two
    own = [f"/api/users/{a.user_id}", f"/api/accounts/{a.account_id}",
           f"/api/accounts/{a.account_id}/plan", f"/api/accounts/{a.account_id}/users"]
    for path in own:
        assert (await client.get(path, headers=a.headers)).status_code == 200, path
    other = [f"/api/users/{b.user_id}", f"/api/accounts/{b.account_id}",
             f"/api/accounts/{b.account_id}/plan", f"/api/accounts/{b.account_id}/users"]
    for path in other:
        resp = await client.get(path, headers=a.headers)
        assert resp.status_code == 404, path
        assert resp.headers["content-type"] == "application/problem+json"
    # Another company's id answers exactly like an id that does not exist.
    ghost = await client.get(f"/api/accounts/{uuid.uuid4()}", headers=a.headers)
    theirs = await client.get(f"/api/accounts/{b.account_id}", headers=a.headers)
    assert ghost.json()["code"] == theirs.json()["code"]


async def test_no_token_is_401(client: httpx.AsyncClient, two: Any) -> None:
    a, _ = two
    for path in (f"/api/users/{a.user_id}", f"/api/accounts/{a.account_id}",
                 f"/api/accounts/{a.account_id}/plan"):
        assert (await client.get(path)).status_code == 401


async def test_unknown_ids_are_404_for_services(client: httpx.AsyncClient,
                                                signing_key: SigningKey, plans: Any) -> None:
    h = service_headers(signing_key)
    for path in (f"/api/users/{uuid.uuid4()}", f"/api/accounts/{uuid.uuid4()}",
                 f"/api/accounts/{uuid.uuid4()}/plan"):
        assert (await client.get(path, headers=h)).status_code == 404


async def test_malformed_id_is_422_naming_the_field(client: httpx.AsyncClient,
                                                   signing_key: SigningKey, plans: Any) -> None:
    resp = await client.get("/api/users/not-a-uuid", headers=service_headers(signing_key))
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["field"] == "user_id"


async def test_service_token_cannot_act_as_a_user(client: httpx.AsyncClient,
                                                  signing_key: SigningKey, two: Any) -> None:
    a, _ = two
    h = service_headers(signing_key)
    assert (await client.get("/api/users/me", headers=h)).status_code == 403
    resp = await client.post(f"/api/accounts/{a.account_id}/users", headers=h,
                             json={"full_name": "X Y", "cpf": CPFS[4], "whatsapp": "11912345678",
                                   "password": "abc12345"})
    assert resp.status_code == 403


async def test_operator_tokens_and_user_tokens_do_not_mix(client: httpx.AsyncClient,
                                                          two: Any) -> None:
    a, _ = two
    # A company admin is not a platform operator.
    resp = await client.get("/api/operator/accounts", headers=a.headers)
    assert resp.status_code == 401


async def _client_token(client: httpx.AsyncClient, app: Any, client_id: str,
                        fields: tuple[str, ...]) -> dict[str, str]:
    from avadmin.cli import _create_client

    await _create_client(app.state.settings, client_id, client_id, "s" * 32, fields)
    resp = await client.post("/api/auth/service-token",
                             json={"client_id": client_id, "client_secret": "s" * 32})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


async def test_a_service_client_gets_no_personal_field_outside_its_scope(
    client: httpx.AsyncClient, app: Any, two: Any,
) -> None:
    """Issue 15, point 4: StockTech reads the seller company's name and WhatsApp, never a CPF;
    Lucrum nothing personal. A field outside the client's scope comes back null."""
    a, _ = two
    stocktech = await _client_token(client, app, "stocktech-scope", STOCKTECH_FIELDS)
    lucrum = await _client_token(client, app, "lucrum-scope", ())

    account = (await client.get(f"/api/accounts/{a.account_id}", headers=stocktech)).json()
    assert account["company_name"] == "Empresa Teste LTDA"
    assert account["whatsapp"] == number_for(CPFS[0])
    assert account["cnpj"] is None
    assert account["status"] == "active" and account["plan"]["name"] == "Empresa"
    user = (await client.get(f"/api/users/{a.user_id}", headers=stocktech)).json()
    assert user["cpf"] is None and user["whatsapp"] is None and user["full_name"] is None
    assert user["is_active"] is True and user["role"] == "admin"
    users = (await client.get(f"/api/accounts/{a.account_id}/users", headers=stocktech)).json()
    assert users and all(u["cpf"] is None and u["whatsapp"] is None for u in users)

    for path in (f"/api/accounts/{a.account_id}", f"/api/users/{a.user_id}"):
        body = (await client.get(path, headers=lucrum)).json()
        assert body.get("cpf") is None and body.get("whatsapp") is None
        assert body.get("cnpj") is None and body.get("company_name") is None
        assert body.get("full_name") is None
    # The answers hold none of the planted values anywhere.
    for headers in (stocktech, lucrum):
        text = (await client.get(f"/api/users/{a.user_id}", headers=headers)).text
        assert CPFS[0] not in text and number_for(CPFS[0]) not in text
    # The company's own users still read their company whole.
    own = (await client.get(f"/api/users/{a.user_id}", headers=a.headers)).json()
    assert own["cpf"] == CPFS[0]


async def test_unknown_fields_are_refused_by_the_cli(app: Any, capsys: Any) -> None:
    import argparse

    from avadmin.cli import _cmd_create_service_client

    args = argparse.Namespace(client_id="x", name=None, secret_stdin=False,
                              fields="account.whatsapp,user.password_hash")
    assert _cmd_create_service_client(app.state.settings, args) == 2
    assert "user.password_hash" in capsys.readouterr().err


async def test_a_service_lookup_is_lean_and_gives_the_routes_bytes(
        app: Any, client: httpx.AsyncClient, two: Any, signing_key: SigningKey) -> None:
    """ADR 0023: a token's first read is the FastAPI route's (it verifies the token); the next
    ones are answered by the lean read, byte for byte the same, for every field scope and with a
    ``sessions_valid_after``."""
    a, _ = two
    changed = await client.post("/api/users/me/password", headers=a.headers, json={
        "current_password": a.password, "new_password": "outraSenhaSegura456"})
    assert changed.status_code == 204, changed.text
    lean = next(r for r in app.state.lean_routes if r.template == "/api/users/{user_id}")
    for scope in (EVERY_FIELD, "internal", "internal user.whatsapp"):
        h = service_headers(signing_key, scope)
        before = lean.answered
        by_route = await client.get(f"/api/users/{a.user_id}", headers=h)
        by_lean = await client.get(f"/api/users/{a.user_id}", headers=h)
        assert lean.answered == before + 1
        assert by_lean.status_code == by_route.status_code == 200
        assert by_lean.content == by_route.content
        assert by_lean.headers["content-type"] == by_route.headers["content-type"]
        assert by_lean.json()["sessions_valid_after"] is not None
    assert by_lean.json()["whatsapp"] == number_for(CPFS[0]) and by_lean.json()["cpf"] is None


async def test_what_a_lean_read_declines_is_answered_by_the_route(
        app: Any, client: httpx.AsyncClient, two: Any, signing_key: SigningKey) -> None:
    a, b = two
    lean = next(r for r in app.state.lean_routes if r.template == "/api/users/{user_id}")
    h = service_headers(signing_key)
    assert (await client.get(f"/api/users/{a.user_id}", headers=h)).status_code == 200
    before = lean.answered
    missing = await client.get(f"/api/users/{uuid.uuid4()}", headers=h)
    assert missing.status_code == 404 and missing.json()["code"] == "user_not_found"
    # A user token: the route's checks (its own company only).
    assert (await client.get(f"/api/users/{b.user_id}", headers=a.headers)).status_code == 404
    assert (await client.get(f"/api/users/{a.user_id}", headers=a.headers)).status_code == 200
    assert (await client.get("/api/users/me", headers=a.headers)).status_code == 200
    assert lean.answered == before


async def test_a_lean_read_is_one_statement_on_the_lean_pool_and_none_on_the_requests(
        app: Any, client: httpx.AsyncClient, two: Any, signing_key: SigningKey) -> None:
    """ADR 0023: a lean read is its one statement, on a connection of the lean pool (the
    setting is the connection's own): no BEGIN, no setting, no COMMIT, and nothing on the
    request pool, whose connections never act as the platform outside a transaction."""
    a, _ = two
    lean = next(r for r in app.state.lean_routes if r.template == "/api/users/{user_id}")
    h = service_headers(signing_key)
    for _ in range(2):  # the route (it verifies the token), then a lean read opens its pool
        assert (await client.get(f"/api/users/{a.user_id}", headers=h)).status_code == 200
    statements: dict[str, list[str]] = {"system": [], "requests": []}
    logged: set[int] = set()
    pools = {"system": app.state.db.lean_engine.sync_engine.pool,
             "requests": app.state.db.engine.sync_engine.pool}

    def logger_for(name: str) -> Any:
        def log_statements(dbapi_connection: Any, record: Any, proxy: Any) -> None:
            raw = dbapi_connection.driver_connection
            if id(raw) not in logged:
                logged.add(id(raw))
                raw.add_query_logger(lambda q: statements[name].append(q.query))
        return log_statements

    listeners = {name: logger_for(name) for name in pools}
    for name, pool in pools.items():
        event.listen(pool, "checkout", listeners[name])
    try:
        before = lean.answered
        for _ in range(5):
            assert (await client.get(f"/api/users/{a.user_id}", headers=h)).status_code == 200
        assert lean.answered == before + 5
        await asyncio.sleep(0.05)  # asyncpg calls its query loggers soon after, not inline
    finally:
        for name, pool in pools.items():
            event.remove(pool, "checkout", listeners[name])
    system, requests = statements["system"], statements["requests"]
    assert len(system) == 5 and all(q == system[0] for q in system)
    assert system[0].lstrip().upper().startswith("SELECT")
    # The request pool ran none of it (background work, the outbox relay, may use that pool
    # meanwhile: only the lookup's own statement is looked for).
    assert not [q for q in requests if "FROM users" in q]
    await _pools_are_clean(app)


async def test_lean_reads_past_the_pool_size_wait_for_a_connection_and_all_answer(
        app: Any, client: httpx.AsyncClient, two: Any, signing_key: SigningKey,
        caplog: pytest.LogCaptureFixture) -> None:
    """More lean reads at once than the lean pool has connections (6, no overflow: a
    connection opened per burst cost PostgreSQL a backend each time): they wait for one, all
    answer lean, and the pool ends as it began."""
    a, _ = two
    lean = next(r for r in app.state.lean_routes if r.template == "/api/users/{user_id}")
    h = service_headers(signing_key)
    assert (await client.get(f"/api/users/{a.user_id}", headers=h)).status_code == 200
    before = lean.answered
    with caplog.at_level("WARNING"):
        answers = await asyncio.gather(*(client.get(f"/api/users/{a.user_id}", headers=h)
                                         for _ in range(12)))
    assert [r.status_code for r in answers] == [200] * 12
    assert lean.answered == before + 12
    assert [r.getMessage() for r in caplog.records if r.levelname in ("WARNING", "ERROR")] == []
    pool = app.state.db.lean_engine.sync_engine.pool
    assert pool.checkedout() == 0 and pool.overflow() <= 0


async def _pools_are_clean(app: Any) -> None:
    """Every pooled connection, checked out at once: none inside a transaction; the request
    pool's without the platform's setting, the lean pool's with it."""
    for engine, setting in ((app.state.db.engine, (None, "")),
                            (app.state.db.lean_engine, ("on",))):
        pool = engine.sync_engine.pool
        assert pool.checkedout() == 0
        conns = [await engine.raw_connection() for _ in range(pool.checkedin())]
        try:
            for fairy in conns:
                assert not fairy.driver_connection.is_in_transaction()
                assert await fairy.driver_connection.fetchval(
                    "SELECT current_setting('avelar.system', true)") in setting
        finally:
            for fairy in conns:
                fairy.close()


async def test_a_lean_connection_that_fails_or_is_cancelled_is_closed_never_pooled_again(
        app: Any, client: httpx.AsyncClient, two: Any) -> None:
    """ADR 0023: a system connection acts as the platform; a block that ends in an error (here
    with a transaction of its own open) or a cancellation mid-statement (asyncpg's state then
    unreliable) closes its connection. No pooled connection is left inside a transaction, and
    the request pool never gets the setting."""
    a, _ = two
    read = LeanRead(app, Principal(kind="service", subject="stocktech", token_id="t"),
                    a.user_id)
    used: list[Any] = []

    async def failing() -> None:
        async with read.system_connection() as conn:
            used.append(conn)
            assert await conn.fetchval("SELECT current_setting('avelar.system', true)") == "on"
            await conn.execute("BEGIN")
            raise LookupError("after the statement")

    with pytest.raises(LookupError):
        await failing()
    assert used[0].is_closed()  # invalidated, not rolled back and pooled
    await _pools_are_clean(app)

    started = asyncio.Event()

    async def slow() -> None:
        async with read.system_connection() as conn:
            used.append(conn)
            started.set()
            await conn.execute("SELECT pg_sleep(5)")

    task = asyncio.create_task(slow())
    await asyncio.wait_for(started.wait(), 5)
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert used[1].is_closed()
    await _pools_are_clean(app)


def test_the_lean_user_lookup_has_the_routes_dependencies_it_was_written_for(app: Any) -> None:
    """The lean read skips the route's dependencies (ADR 0023): it is written for exactly these.
    A new check on this route (a scope, a service-client revocation) must be added to
    ``get_user_lean`` too, then here."""
    def calls(dependant: Any) -> set[str]:
        found: set[str] = set()
        for dep in dependant.dependencies:
            if dep.call is not None:
                found.add(getattr(dep.call, "__qualname__", type(dep.call).__name__))
            found |= calls(dep)
        return found

    route = next(ctx for ctx in iter_route_contexts(app.routes)
                 if isinstance(ctx.original_route, APIRoute)
                 and ctx.path == "/api/users/{user_id}" and "GET" in ctx.methods)
    assert calls(route.dependant) == {"get_principal", "get_caller", "HTTPBearer",
                                      "get_session"}, calls(route.dependant)


async def test_a_lean_connection_without_the_platform_setting_is_refused_loudly(
        app: Any, caplog: pytest.LogCaptureFixture) -> None:
    """A server or pooler that drops the startup parameter would make every row invisible and
    every lean read a silent "not found": the lean pool refuses such a connection, and says so."""
    from avelar_kit.db.session import Database

    db = Database(app.state.settings.database_url, pool_size=1, lean_pool_size=1)
    # What a pooler that drops startup parameters would leave: the setting not "on".
    db._lean_options["connect_args"]["server_settings"]["avelar.system"] = "off"
    try:
        with caplog.at_level("ERROR"), pytest.raises(RuntimeError, match=r"avelar\.system"):
            await db.lean_engine.raw_connection()
        assert any("lean pool" in r.getMessage() for r in caplog.records)
        assert db.lean_engine.sync_engine.pool.checkedout() == 0
    finally:
        await db.dispose()
    unused = Database(app.state.settings.database_url)
    await unused.dispose()
    with pytest.raises(RuntimeError, match="disposed"):  # never opened after its dispose
        unused.lean_engine  # noqa: B018
