"""Users of a company: admins manage them; max_users holds, also under concurrency."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from sqlalchemy import func, select

from avadmin.models import AuditLog, OutboxEvent, User
from avelar_kit.db.tenancy import act_as_system

from .conftest import CNPJS, CPFS


def new_user(cpf: str, role: str = "user", password: str = "vendas2024x") -> dict[str, Any]:
    return {"full_name": "Carlos Vendedor", "cpf": cpf, "whatsapp": "11912345678",
            "password": password, "role": role}


async def test_admin_creates_and_lists_users(client: httpx.AsyncClient, signup: Any) -> None:
    a = await signup()
    resp = await client.post(f"/api/accounts/{a.account_id}/users", headers=a.headers,
                             json=new_user("111.444.777-35"))
    assert resp.status_code == 201, resp.text
    assert resp.json()["cpf"] == "11144477735"
    assert resp.json()["role"] == "user"
    listed = await client.get(f"/api/accounts/{a.account_id}/users", headers=a.headers)
    assert [u["cpf"] for u in listed.json()] == [CPFS[0], "11144477735"]
    login = await client.post("/api/auth/login",
                              json={"cpf": "11144477735", "password": "vendas2024x"})
    assert login.status_code == 200


async def test_plain_user_cannot_manage_users(client: httpx.AsyncClient, signup: Any) -> None:
    a = await signup()
    await client.post(f"/api/accounts/{a.account_id}/users", headers=a.headers,
                      json=new_user(CPFS[1]))
    token = (await client.post("/api/auth/login", json={"cpf": CPFS[1],
                                                        "password": "vendas2024x"})).json()
    h = {"Authorization": f"Bearer {token['access_token']}"}
    resp = await client.post(f"/api/accounts/{a.account_id}/users", headers=h,
                             json=new_user(CPFS[2]))
    assert resp.status_code == 403
    assert resp.json()["code"] == "permission_denied"
    deact = await client.post(f"/api/users/{a.user_id}/deactivate", headers=h)
    assert deact.status_code == 403
    # A user may edit its own name, not its own role.
    me = (await client.get("/api/users/me", headers=h)).json()
    ok = await client.patch(f"/api/users/{me['id']}", headers=h, json={"full_name": "Carlos S."})
    assert ok.status_code == 200
    assert ok.json()["full_name"] == "Carlos S."
    role = await client.patch(f"/api/users/{me['id']}", headers=h, json={"role": "admin"})
    assert role.status_code == 403


async def test_max_users_at_the_boundary_names_the_limit(client: httpx.AsyncClient,
                                                         signup: Any) -> None:
    a = await signup(plan="Lojista")  # max_users = 2, the admin is one
    first = await client.post(f"/api/accounts/{a.account_id}/users", headers=a.headers,
                              json=new_user(CPFS[1]))
    assert first.status_code == 201
    over = await client.post(f"/api/accounts/{a.account_id}/users", headers=a.headers,
                             json=new_user(CPFS[2]))
    assert over.status_code == 403
    body = over.json()
    assert body["code"] == "plan_limit_reached"
    assert body["limit"] == "max_users"
    assert (body["allowed"], body["used"], body["plan"]) == (2, 2, "Lojista")
    assert "Lojista" in body["detail"] and "2" in body["detail"]


async def test_max_users_under_concurrency_exactly_one_succeeds(
    client: httpx.AsyncClient, signup: Any, app: Any
) -> None:
    a = await signup(plan="Lojista")  # room for exactly one more
    results = await asyncio.gather(*(
        client.post(f"/api/accounts/{a.account_id}/users", headers=a.headers,
                    json=new_user(CPFS[i])) for i in range(1, 6)))
    codes = sorted(r.status_code for r in results)
    assert codes == [201, 403, 403, 403, 403], [r.text for r in results]
    async with app.state.db.sessionmaker() as s:
        await act_as_system(s)  # the test works on every company's rows
        count = await s.scalar(select(func.count()).select_from(User)
                               .where(User.account_id == a.account_id))
    assert count == 2


async def test_deactivation_frees_a_seat_and_reactivation_needs_one(
    client: httpx.AsyncClient, signup: Any
) -> None:
    a = await signup(plan="Lojista")
    u1 = (await client.post(f"/api/accounts/{a.account_id}/users", headers=a.headers,
                            json=new_user(CPFS[1]))).json()
    assert (await client.post(f"/api/users/{u1['id']}/deactivate",
                              headers=a.headers)).json()["is_active"] is False
    u2 = await client.post(f"/api/accounts/{a.account_id}/users", headers=a.headers,
                           json=new_user(CPFS[2]))
    assert u2.status_code == 201
    again = await client.post(f"/api/users/{u1['id']}/activate", headers=a.headers)
    assert again.status_code == 403
    assert again.json()["code"] == "plan_limit_reached"


async def test_last_admin_cannot_be_removed_and_self_deactivation_refused(
    client: httpx.AsyncClient, signup: Any
) -> None:
    a = await signup()
    demote = await client.patch(f"/api/users/{a.user_id}", headers=a.headers,
                                json={"role": "user"})
    assert demote.status_code == 409
    assert demote.json()["code"] == "last_admin"
    self_off = await client.post(f"/api/users/{a.user_id}/deactivate", headers=a.headers)
    assert self_off.status_code == 409


async def test_registered_cpf_gets_a_generic_refusal_recorded_and_rate_limited(
        client: httpx.AsyncClient, signup: Any, app: Any) -> None:
    a = await signup()
    b = await signup(cnpj=CNPJS[1], cpf=CPFS[1])
    limit = app.state.settings.user_create_refusals_per_window
    for _ in range(limit):
        resp = await client.post(f"/api/accounts/{a.account_id}/users", headers=a.headers,
                                 json=new_user(CPFS[1]))  # b's admin: another company
        assert resp.status_code == 422
        assert resp.json()["code"] == "user_not_created"
        assert "CPF" in resp.json()["detail"] and "outra empresa" not in resp.json()["detail"]
    resp = await client.post(f"/api/accounts/{a.account_id}/users", headers=a.headers,
                             json=new_user(CPFS[1]))
    assert resp.status_code == 429
    assert resp.json()["code"] == "user_create_throttled"
    async with app.state.db.sessionmaker() as s:
        await act_as_system(s)  # the test works on every company's rows
        refusals = (await s.scalars(select(AuditLog).where(
            AuditLog.action == "user.create_refused"))).all()
    assert len(refusals) == limit + 1
    assert all(r.account_id == a.account_id and CPFS[1] not in str(r.details) for r in refusals)
    assert b.user_id is not None


async def test_admin_cannot_create_users_in_another_company(client: httpx.AsyncClient,
                                                           signup: Any) -> None:

    a = await signup()
    b = await signup(cnpj=CNPJS[1], cpf=CPFS[1])
    resp = await client.post(f"/api/accounts/{b.account_id}/users", headers=a.headers,
                             json=new_user(CPFS[2]))
    assert resp.status_code == 404
    patch = await client.patch(f"/api/users/{b.user_id}", headers=a.headers,
                               json={"full_name": "Hacker"})
    assert patch.status_code == 404


async def test_password_change_revokes_sessions(client: httpx.AsyncClient, signup: Any) -> None:
    a = await signup()
    wrong = await client.post("/api/users/me/password", headers=a.headers,
                              json={"current_password": "nada12345", "new_password": "nova12345"})
    assert wrong.status_code == 401
    weak = await client.post("/api/users/me/password", headers=a.headers,
                             json={"current_password": a.password, "new_password": "curta"})
    assert weak.status_code == 422
    assert weak.json()["errors"][0]["field"] == "new_password"
    ok = await client.post("/api/users/me/password", headers=a.headers,
                           json={"current_password": a.password, "new_password": "novaSenha2025"})
    assert ok.status_code == 204
    assert (await client.post("/api/auth/refresh",
                              json={"refresh_token": a.refresh})).status_code == 401
    old = await client.post("/api/auth/login", json={"cpf": CPFS[0], "password": a.password})
    assert old.status_code == 401
    new = await client.post("/api/auth/login", json={"cpf": CPFS[0],
                                                     "password": "novaSenha2025"})
    assert new.status_code == 200


async def test_user_events_are_written_with_the_change(client: httpx.AsyncClient, signup: Any,
                                                       app: Any) -> None:
    a = await signup()
    u = (await client.post(f"/api/accounts/{a.account_id}/users", headers=a.headers,
                           json=new_user(CPFS[1]))).json()
    await client.post(f"/api/users/{u['id']}/deactivate", headers=a.headers)
    async with app.state.db.sessionmaker() as s:
        await act_as_system(s)  # the test works on every company's rows
        events = (await s.scalars(select(OutboxEvent).order_by(OutboxEvent.created_at))).all()
    types = [e.event_type for e in events]
    assert types == ["user.updated", "user.deactivated"]
    assert events[1].payload == {"user_id": u["id"], "account_id": str(a.account_id)}
    # A refused change writes no event.
    await client.post(f"/api/users/{a.user_id}/deactivate", headers=a.headers)
    async with app.state.db.sessionmaker() as s:
        await act_as_system(s)  # the test works on every company's rows
        assert await s.scalar(select(func.count()).select_from(OutboxEvent)) == 2


async def test_relay_publishes_outbox_events_to_the_stream(client: httpx.AsyncClient,
                                                           signup: Any, app: Any) -> None:
    import json

    a = await signup()
    u = (await client.post(f"/api/accounts/{a.account_id}/users", headers=a.headers,
                           json=new_user(CPFS[1]))).json()
    await client.post(f"/api/users/{u['id']}/deactivate", headers=a.headers)
    stream = app.state.settings.events_stream
    redis = app.state.redis
    for _ in range(50):
        entries = await redis.xrange(stream)
        found = [json.loads(f[b"event"]) for _, f in entries]
        if any(e["type"] == "user.deactivated" and e["data"]["user_id"] == u["id"]
               for e in found):
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("user.deactivated never reached the stream")
    event = next(e for e in found if e["type"] == "user.deactivated")
    assert event["source"] == "AvAdmin"
    assert event["schema_version"] == 1
    async with app.state.db.sessionmaker() as s:
        await act_as_system(s)  # the test works on every company's rows
        pending = await s.scalar(select(func.count()).select_from(OutboxEvent)
                                 .where(OutboxEvent.published_at.is_(None)))
    assert pending == 0


async def test_an_edit_after_a_concurrent_deactivation_keeps_it(
    client: httpx.AsyncClient, signup: Any, app: Any
) -> None:
    """The user is read before the account lock is taken; what a concurrent request committed
    in between must be what the edit and its event see."""
    from avadmin.users.schemas import UserUpdate
    from avadmin.users.service import UserService
    from avelar_kit.auth.principal import Principal

    a = await signup()
    u = (await client.post(f"/api/accounts/{a.account_id}/users", headers=a.headers,
                           json=new_user(CPFS[1]))).json()
    admin = Principal(kind="user", subject=str(a.user_id), token_id="t", user_id=a.user_id,
                      account_id=a.account_id, role="admin")
    async with app.state.db.sessionmaker() as s, s.begin():
        await act_as_system(s)  # the test works on every company's rows
        snapshot = await s.get(User, uuid.UUID(u["id"]))  # still active
        assert snapshot is not None and snapshot.is_active
        off = await client.post(f"/api/users/{u['id']}/deactivate", headers=a.headers)
        assert off.status_code == 200
        edited = await UserService(s).update(admin, uuid.UUID(u["id"]),
                                             UserUpdate(full_name="Carlos Novo"))
        assert edited.is_active is False
        again = await UserService(s).deactivate(admin, edited.id)
        assert again.is_active is False
    async with app.state.db.sessionmaker() as s:
        await act_as_system(s)  # the test works on every company's rows
        events = (await s.scalars(select(OutboxEvent).order_by(OutboxEvent.created_at))).all()
    assert [e.event_type for e in events] == ["user.updated", "user.deactivated", "user.updated"]
    assert events[-1].payload["is_active"] is False


async def test_password_change_ends_access_tokens_at_avadmin(client: httpx.AsyncClient,
                                                             signup: Any, app: Any) -> None:
    from sqlalchemy import update

    a = await signup()
    # The signup token was issued "earlier": move the change a few seconds later than it.
    ok = await client.post("/api/users/me/password", headers=a.headers,
                           json={"current_password": a.password, "new_password": "novaSenha2025"})
    assert ok.status_code == 204
    async with app.state.db.sessionmaker() as s, s.begin():
        await act_as_system(s)  # the test works on every company's rows
        await s.execute(update(User).where(User.id == a.user_id).values(
            sessions_valid_after=func.now() + func.make_interval(0, 0, 0, 0, 0, 0, 5)))
    old = await client.get("/api/users/me", headers=a.headers)
    assert old.status_code == 401
    assert old.json()["code"] == "session_revoked"


async def test_only_admins_list_the_companys_users(client: httpx.AsyncClient,
                                                   signup: Any) -> None:
    a = await signup()
    await client.post(f"/api/accounts/{a.account_id}/users", headers=a.headers,
                      json=new_user(CPFS[1]))
    token = (await client.post("/api/auth/login", json={"cpf": CPFS[1],
                                                        "password": "vendas2024x"})).json()
    h = {"Authorization": f"Bearer {token['access_token']}"}
    resp = await client.get(f"/api/accounts/{a.account_id}/users", headers=h)
    assert resp.status_code == 403
    assert resp.json()["code"] == "permission_denied"
    assert (await client.get(f"/api/accounts/{a.account_id}/users",
                             headers=a.headers)).status_code == 200


async def test_prune_outbox_deletes_only_old_published_events(client: httpx.AsyncClient,
                                                              signup: Any, app: Any) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from avadmin.cli import _prune_outbox
    from avelar_kit.db.base import utcnow

    a = await signup()
    for cpf in CPFS[1:4]:
        await client.post(f"/api/accounts/{a.account_id}/users", headers=a.headers,
                          json=new_user(cpf, role="admin"))
    app.state.relay and await app.state.relay.stop()
    try:
        async with app.state.db.sessionmaker() as s, s.begin():
            await act_as_system(s)  # the test works on every company's rows
            ids = (await s.scalars(select(OutboxEvent.id).order_by(OutboxEvent.created_at))).all()
            assert len(ids) == 3
            await s.execute(update(OutboxEvent).where(OutboxEvent.id == ids[0])
                            .values(published_at=utcnow() - timedelta(days=10)))
            await s.execute(update(OutboxEvent).where(OutboxEvent.id == ids[1])
                            .values(published_at=utcnow() - timedelta(days=1)))
            await s.execute(update(OutboxEvent).where(OutboxEvent.id == ids[2])
                            .values(published_at=None, created_at=utcnow() - timedelta(days=30)))
        assert await _prune_outbox(app.state.settings, 7) == 1
        async with app.state.db.sessionmaker() as s:
            await act_as_system(s)  # the test works on every company's rows
            left = set((await s.scalars(select(OutboxEvent.id))).all())
        assert left == {ids[1], ids[2]}
    finally:
        if app.state.relay:
            await app.state.relay.start()
