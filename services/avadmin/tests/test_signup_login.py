from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import func, select

from avadmin.models import Account, BillingTransaction, User
from avelar_kit.db.tenancy import act_as_system

from .conftest import CNPJS, CPFS, confirmed_signup, last_code, number_for, signup_body


async def test_plans_are_public_and_money_is_a_string(client: httpx.AsyncClient,
                                                      plans: dict[str, Any]) -> None:
    resp = await client.get("/api/plans")
    assert resp.status_code == 200
    by_name = {p["name"]: p for p in resp.json()}
    assert set(by_name) == {"Lojista", "Empresa", "Corporativo"}
    assert by_name["Empresa"]["price"] == "249.90"
    assert by_name["Empresa"]["max_users"] == 5
    assert by_name["Lojista"]["modules"] == ["StockTech"]


async def test_signup_creates_company_and_admin_with_plan_modules(
    client: httpx.AsyncClient, signup: Any, app: Any
) -> None:
    company = await signup(plan="Lojista")
    assert company.data["account"]["enabled_modules"] == ["StockTech"]
    assert company.data["account"]["cnpj"] == CNPJS[0]
    assert company.data["user"]["role"] == "admin"
    assert company.data["user"]["whatsapp"] == number_for(CPFS[0])
    # The code reached that number: both numbers count as verified.
    assert company.data["user"]["whatsapp_verified"] is True
    assert company.data["account"]["whatsapp_verified"] is True
    assert "password_hash" not in company.data["user"]
    async with app.state.db.sessionmaker() as s:
        await act_as_system(s)  # the test works on every company's rows
        bill = await s.scalar(select(BillingTransaction))
        assert bill is not None and bill.amount == Decimal("99.90")
        assert bill.status.value == "pending"


async def test_signup_accepts_alphanumeric_cnpj_masked_and_lowercase(
    client: httpx.AsyncClient, plans: Any, app: Any
) -> None:
    resp = await confirmed_signup(client, app, signup_body(cnpj="12.abc.345/01de-35",
                                                           cpf="529.982.247-25"))
    assert resp.status_code == 201, resp.text
    assert resp.json()["account"]["cnpj"] == "12ABC34501DE35"
    assert resp.json()["user"]["cpf"] == "52998224725"


async def test_duplicate_cnpj_or_cpf_answers_like_a_new_one_and_writes_nothing(
    client: httpx.AsyncClient, signup: Any, app: Any
) -> None:
    await signup()
    taken_cnpj = signup_body(cnpj=CNPJS[0], cpf=CPFS[1])
    taken_cpf = signup_body(cnpj=CNPJS[1], cpf=CPFS[0])
    taken_cpf["admin"]["whatsapp"] = number_for(CPFS[2])  # another number (no cooldown)
    for body in (taken_cnpj, taken_cpf):
        resp = await client.post("/api/auth/signup", json=body)
        assert resp.status_code == 202, resp.text
        assert resp.json()["status"] == "pending_confirmation"
    async with app.state.db.sessionmaker() as s:
        await act_as_system(s)  # the test works on every company's rows
        assert await s.scalar(select(func.count()).select_from(Account)) == 1
        assert await s.scalar(select(func.count()).select_from(User)) == 1


async def test_concurrent_confirmations_with_same_cnpj_create_one(
    client: httpx.AsyncClient, plans: Any, app: Any
) -> None:
    bodies = [signup_body(cnpj=CNPJS[2], cpf=CPFS[i]) for i in range(4)]
    started = [await client.post("/api/auth/signup", json=b) for b in bodies]
    assert [r.status_code for r in started] == [202] * 4
    codes = [await last_code(app, b["admin"]["whatsapp"]) for b in bodies]
    results = await asyncio.gather(*(
        client.post("/api/auth/signup/confirm",
                    json={"signup_id": r.json()["signup_id"], "code": c})
        for r, c in zip(started, codes, strict=True)))
    statuses = sorted(r.status_code for r in results)
    assert statuses == [201, 409, 409, 409], [r.text for r in results]
    async with app.state.db.sessionmaker() as s:
        await act_as_system(s)  # the test works on every company's rows
        assert await s.scalar(select(func.count()).select_from(Account)) == 1
        assert await s.scalar(select(func.count()).select_from(User)) == 1


async def test_login_returns_token_pair(client: httpx.AsyncClient, signup: Any) -> None:
    company = await signup()
    resp = await client.post("/api/auth/login",
                             json={"cpf": "529.982.247-25", "password": company.password})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    me = await client.get("/api/users/me",
                          headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["id"] == str(company.user_id)


async def test_unknown_cpf_and_wrong_password_get_the_same_answer(
    client: httpx.AsyncClient, signup: Any
) -> None:
    await signup()
    wrong_pw = await client.post("/api/auth/login",
                                 json={"cpf": CPFS[0], "password": "outraSenha999"})
    unknown = await client.post("/api/auth/login",
                                json={"cpf": CPFS[5], "password": "outraSenha999"})
    assert wrong_pw.status_code == unknown.status_code == 401

    def strip(body: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in body.items() if k != "request_id"}

    assert strip(wrong_pw.json()) == strip(unknown.json())
    assert wrong_pw.headers["content-type"] == "application/problem+json"


async def test_five_failures_throttle_the_cpf_with_retry_after(
    client: httpx.AsyncClient, signup: Any
) -> None:
    company = await signup()
    for _ in range(5):
        r = await client.post("/api/auth/login", json={"cpf": CPFS[0], "password": "errada123"})
        assert r.status_code == 401
    # Even the right password is refused while the CPF is locked.
    locked = await client.post("/api/auth/login",
                               json={"cpf": CPFS[0], "password": company.password})
    assert locked.status_code == 429
    assert locked.json()["code"] == "login_throttled"
    assert 800 < int(locked.headers["Retry-After"]) <= 900
    # Another CPF is not affected.
    other = await client.post("/api/auth/login", json={"cpf": CPFS[1], "password": "errada123"})
    assert other.status_code == 401


async def test_concurrent_failures_all_count(client: httpx.AsyncClient, signup: Any) -> None:
    await signup()
    await asyncio.gather(*(client.post("/api/auth/login",
                                       json={"cpf": CPFS[0], "password": "errada123"})
                           for _ in range(5)))
    r = await client.post("/api/auth/login", json={"cpf": CPFS[0], "password": "errada123"})
    assert r.status_code == 429


async def test_success_resets_the_failure_count(client: httpx.AsyncClient, signup: Any) -> None:
    company = await signup()
    for _ in range(4):
        await client.post("/api/auth/login", json={"cpf": CPFS[0], "password": "errada123"})
    ok = await client.post("/api/auth/login", json={"cpf": CPFS[0], "password": company.password})
    assert ok.status_code == 200
    for _ in range(4):
        r = await client.post("/api/auth/login", json={"cpf": CPFS[0], "password": "errada123"})
        assert r.status_code == 401


async def test_deactivated_user_cannot_log_in(client: httpx.AsyncClient, signup: Any) -> None:
    company = await signup()
    created = await client.post(
        f"/api/accounts/{company.account_id}/users", headers=company.headers,
        json={"full_name": "José Vendas", "cpf": CPFS[3], "whatsapp": "11912345678",
              "password": "vendas2024x"})
    assert created.status_code == 201, created.text
    uid = created.json()["id"]
    assert (await client.post(f"/api/users/{uid}/deactivate",
                              headers=company.headers)).status_code == 200
    r = await client.post("/api/auth/login", json={"cpf": CPFS[3], "password": "vendas2024x"})
    assert r.status_code == 401
    assert r.json()["code"] == "invalid_credentials"


async def test_passwords_are_argon2id_at_least_owasp(client: httpx.AsyncClient, signup: Any,
                                                     app: Any) -> None:
    from argon2 import extract_parameters

    await signup()
    async with app.state.db.sessionmaker() as s:
        await act_as_system(s)  # the test works on every company's rows
        stored = await s.scalar(select(User.password_hash))
    assert stored is not None and stored.startswith("$argon2id$")
    params = extract_parameters(stored)
    # OWASP minimum for argon2id: m=19 MiB, t=2, p=1.
    assert params.memory_cost >= 19 * 1024
    assert params.time_cost >= 2
    assert params.parallelism >= 1


async def test_a_concurrent_burst_gets_only_five_guesses_checked(client: httpx.AsyncClient,
                                                                 signup: Any) -> None:
    # Attempts are counted before the password is checked: a burst sent at once must not have
    # every guess verified while the first ones are still hashing.
    await signup()
    results = await asyncio.gather(*(client.post("/api/auth/login",
                                                 json={"cpf": CPFS[0], "password": f"chute{i}99"})
                                     for i in range(12)))
    codes = sorted(r.status_code for r in results)
    assert codes == [401] * 5 + [429] * 7, codes


async def test_cpf_mask_variants_share_one_counter(client: httpx.AsyncClient,
                                                   signup: Any) -> None:
    await signup()
    for cpf in ("529.982.247-25", "52998224725", "529 982 247 25", " 529982247-25", "5299822472-5"):
        r = await client.post("/api/auth/login", json={"cpf": cpf, "password": "errada123"})
        assert r.status_code == 401
    r = await client.post("/api/auth/login", json={"cpf": "529.982.24725", "password": "x1"})
    assert r.status_code == 429


async def test_service_clients_are_not_locked_out_by_their_own_successes(
    client: httpx.AsyncClient, app: Any
) -> None:
    from avadmin.cli import _create_client

    await _create_client(app.state.settings, "lucrum", "Lucrum", "s" * 32)
    body = {"client_id": "lucrum", "client_secret": "s" * 32}
    results = await asyncio.gather(*(client.post("/api/auth/service-token", json=body)
                                     for _ in range(8)))
    assert [r.status_code for r in results] == [200] * 8
    for _ in range(5):
        bad = await client.post("/api/auth/service-token",
                                json={"client_id": "lucrum", "client_secret": "x" * 32})
        assert bad.status_code == 401
    assert (await client.post("/api/auth/service-token", json=body)).status_code == 429


async def test_known_and_unknown_cpf_cost_the_same_queries(client: httpx.AsyncClient,
                                                           signup: Any, app: Any) -> None:
    # Timing cannot be asserted reliably; what it is made of can: the same statements, and an
    # argon2 verification in both cases (the dummy hash for an unknown CPF).
    from sqlalchemy import event

    await signup()
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # Only what reads users, companies and plans; pool housekeeping is not the point.
        if any(t in statement for t in ("users", "accounts", "plans")):
            statements.append(statement)

    engine = app.state.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        await client.post("/api/auth/login", json={"cpf": CPFS[0], "password": "errada123"})
        known = list(statements)
        statements.clear()
        await client.post("/api/auth/login", json={"cpf": CPFS[4], "password": "errada123"})
        unknown = list(statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert known == unknown, (known, unknown)


async def test_old_failures_do_not_count_toward_a_new_lock(client: httpx.AsyncClient,
                                                          signup: Any, app: Any) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from avadmin.models import LoginThrottle

    await signup()
    for _ in range(4):
        await client.post("/api/auth/login", json={"cpf": CPFS[0], "password": "errada123"})
    window = timedelta(seconds=app.state.settings.login_lockout_seconds + 60)
    async with app.state.db.sessionmaker() as s, s.begin():
        await act_as_system(s)  # the test works on every company's rows
        await s.execute(update(LoginThrottle)
                        .values(updated_at=LoginThrottle.updated_at - window))
    for _ in range(4):
        r = await client.post("/api/auth/login", json={"cpf": CPFS[0], "password": "errada123"})
        assert r.status_code == 401


async def test_login_failures_and_throttles_are_counted_in_metrics(
    client: httpx.AsyncClient, signup: Any
) -> None:
    from avelar_kit.testing.metrics import scrape, value

    await signup()
    before = await scrape(client)
    for _ in range(6):  # five failures, then the throttle
        await client.post("/api/auth/login", json={"cpf": CPFS[0], "password": "errada123"})
    after = await scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("avelar_login_failures_total", reason="invalid_credentials") == 5
    assert moved("avelar_login_throttled_total") == 1
    assert moved("avelar_http_request_duration_seconds_count", module="AvAdmin",
                 route="/api/auth/login", method="POST", status="401") == 5
