"""Issue 12: WhatsApp codes, signup confirmation, recovery, notifications and delivery.

The real adapter talks to the Cloud API stand-in over HTTP (conftest's ``whatsapp_standin``);
deliveries are run explicitly with ``deliver(app)`` (the background loop's one round), and
time is moved by editing the rows, never by sleeping."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from avadmin.messaging.port import DeliveryError, TemplateMessage
from avadmin.messaging.whatsapp_cloud import WhatsAppCloudAdapter
from avadmin.models import (
    Account,
    HandledEvent,
    LoginThrottle,
    MessageStatus,
    OutboxEvent,
    OutgoingMessage,
    PendingSignup,
    Plan,
    User,
    VerificationCode,
)
from avadmin.notifications.service import handle_event
from avelar_kit.db.base import utcnow
from avelar_kit.db.tenancy import act_as_system
from avelar_kit.events.consumer import StreamConsumer
from avelar_kit.events.envelope import STREAM_FIELD

from .conftest import (
    CNPJS,
    CPFS,
    STANDIN_TOKEN,
    confirmed_signup,
    deliver,
    inbox,
    last_code,
    number_for,
    signup_body,
)

FRESH = "+5521999887766"


async def outage(app: Any, status: int | None, code: int = 131000) -> None:
    async with httpx.AsyncClient(base_url=app.state.settings.whatsapp_api_url) as c:
        await c.post("/_standin/outage", json={"status": status, "code": code})


async def rows(app: Any, model: Any, *where: Any) -> list[Any]:
    async with app.state.db.sessionmaker() as s:
        await act_as_system(s)  # the test works on every company's rows
        return list((await s.scalars(select(model).where(*where))).all())


# -- the adapter against the stand-in ---------------------------------------------------------


async def test_adapter_sends_the_cloud_api_template_shape_and_reads_the_message_id(
    app: Any, whatsapp_standin: Any, client: httpx.AsyncClient,
) -> None:
    adapter = WhatsAppCloudAdapter(base_url=whatsapp_standin.url, version="v21.0",
                                   phone_number_id="10987654321", access_token=STANDIN_TOKEN)
    from avadmin.messaging import templates

    msg_id = await adapter.send_template("+5511987654321", templates.auth_code("123456"))
    assert msg_id.startswith("wamid.")
    [got] = await inbox(app, "5511987654321")
    assert got["id"] == msg_id and got["template"] == "avelar_codigo"
    assert got["components"][1] == {"type": "button", "sub_type": "url", "index": "0",
                                    "parameters": [{"type": "text", "text": "123456"}]}
    assert "123456" in got["text"]
    # Permanent: an unknown template; a bad token. Retryable: an outage.
    with pytest.raises(DeliveryError) as unknown:
        await adapter.send_template("+5511987654321", TemplateMessage("nao_existe", "pt_BR"))
    assert unknown.value.code == 132001 and not unknown.value.retryable
    bad = WhatsAppCloudAdapter(base_url=whatsapp_standin.url, version="v21.0",
                               phone_number_id="1", access_token="wrong")
    with pytest.raises(DeliveryError) as token:
        await bad.send_template("+5511987654321", templates.auth_code("123456"))
    assert token.value.code == 190 and not token.value.retryable
    await outage(app, 503)
    try:
        with pytest.raises(DeliveryError) as down:
            await adapter.send_template("+5511987654321", templates.auth_code("123456"))
        assert down.value.retryable
    finally:
        await outage(app, None)
        await adapter.aclose()
        await bad.aclose()


# -- codes: verification of the user's and the company's number -------------------------------


async def test_verify_own_number_sets_the_flag_and_a_new_number_clears_it(
    client: httpx.AsyncClient, signup: Any, app: Any,
) -> None:
    a = await signup()
    start = await client.post("/api/whatsapp/verify/start", headers=a.headers,
                              json={"whatsapp": FRESH})
    assert start.status_code == 202, start.text
    assert start.json()["whatsapp"] == "+55 (21) *****-7766"
    me = (await client.get("/api/users/me", headers=a.headers)).json()
    assert me["whatsapp"] == FRESH and me["whatsapp_verified"] is False
    code = await last_code(app, FRESH)
    ok = await client.post("/api/whatsapp/verify/confirm", headers=a.headers, json={"code": code})
    assert ok.status_code == 200, ok.text
    assert (await client.get("/api/users/me", headers=a.headers)).json()["whatsapp_verified"]
    # Changing the number through the profile clears the flag.
    await client.patch(f"/api/users/{a.user_id}", headers=a.headers,
                       json={"whatsapp": "+5521999887700"})
    assert not (await client.get("/api/users/me", headers=a.headers)).json()["whatsapp_verified"]
    # The company's number: admins only, same flow.
    acc = await client.post("/api/whatsapp/verify/start", headers=a.headers,
                            json={"target": "account", "whatsapp": "+5531988776655"})
    assert acc.status_code == 202
    code = await last_code(app, "+5531988776655")
    ok = await client.post("/api/whatsapp/verify/confirm", headers=a.headers,
                           json={"target": "account", "code": code})
    assert ok.status_code == 200
    account = (await client.get("/api/accounts/me", headers=a.headers)).json()
    assert account["whatsapp"] == "+5531988776655" and account["whatsapp_verified"] is True


async def test_codes_are_stored_hashed_and_erased_from_the_outbox_once_delivered(
    client: httpx.AsyncClient, signup: Any, app: Any,
) -> None:
    a = await signup()
    await client.post("/api/whatsapp/verify/start", headers=a.headers, json={"whatsapp": FRESH})
    code = await last_code(app, FRESH)
    [row] = await rows(app, VerificationCode, VerificationCode.subject_id == a.user_id)
    assert len(row.code_hash) == 64 and code not in row.code_hash
    dumped = json.dumps([str(getattr(row, c.key)) for c in VerificationCode.__table__.c])
    assert code not in dumped
    sent = await rows(app, OutgoingMessage, OutgoingMessage.to_number == FRESH)
    assert [m.status for m in sent] == ["sent"]
    assert sent[0].components == [] and sent[0].sensitive


async def test_code_expires_after_ten_minutes(client: httpx.AsyncClient, signup: Any,
                                              app: Any) -> None:
    a = await signup()
    await client.post("/api/whatsapp/verify/start", headers=a.headers, json={"whatsapp": FRESH})
    code = await last_code(app, FRESH)
    [row] = await rows(app, VerificationCode, VerificationCode.subject_id == a.user_id)
    assert timedelta(minutes=9) < row.expires_at - row.created_at <= timedelta(minutes=10)
    async with app.state.db.sessionmaker() as s, s.begin():
        await act_as_system(s)  # the test works on every company's rows
        await s.execute(update(VerificationCode).values(expires_at=utcnow() - timedelta(seconds=1)))
    late = await client.post("/api/whatsapp/verify/confirm", headers=a.headers,
                             json={"code": code})
    assert late.status_code == 400 and late.json()["code"] == "invalid_code"


async def test_five_wrong_attempts_burn_the_code(client: httpx.AsyncClient, signup: Any,
                                                 app: Any) -> None:
    a = await signup()
    await client.post("/api/whatsapp/verify/start", headers=a.headers, json={"whatsapp": FRESH})
    code = await last_code(app, FRESH)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        resp = await client.post("/api/whatsapp/verify/confirm", headers=a.headers,
                                 json={"code": wrong})
        assert resp.status_code == 400 and resp.json()["code"] == "invalid_code"
    right = await client.post("/api/whatsapp/verify/confirm", headers=a.headers,
                              json={"code": code})
    assert right.status_code == 400  # the sixth try fails even with the right code
    [row] = await rows(app, VerificationCode, VerificationCode.subject_id == a.user_id)
    assert row.attempts == 5
    assert not (await client.get("/api/users/me", headers=a.headers)).json()["whatsapp_verified"]


async def test_resend_cooldown_then_per_number_and_per_client_limits(
    client: httpx.AsyncClient, signup: Any, app: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    a = await signup()
    first = await client.post("/api/whatsapp/verify/start", headers=a.headers, json={})
    assert first.status_code == 202
    again = await client.post("/api/whatsapp/verify/start", headers=a.headers, json={})
    assert again.status_code == 429 and again.json()["code"] == "code_cooldown"
    assert 0 < int(again.headers["Retry-After"]) <= 60

    settings = app.state.settings
    monkeypatch.setattr(settings, "otp_resend_cooldown_seconds", 0)
    monkeypatch.setattr(settings, "otp_max_per_number", 3)  # one used by the signup, one above
    third = await client.post("/api/whatsapp/verify/start", headers=a.headers, json={})
    assert third.status_code == 202
    over = await client.post("/api/whatsapp/verify/start", headers=a.headers, json={})
    assert over.status_code == 429 and over.json()["code"] == "code_rate_limited"
    await deliver(app)
    codes = await inbox(app, number_for(CPFS[0]), "avelar_codigo")
    assert len(codes) == 3  # signup + two verifications, none past the limit

    monkeypatch.setattr(settings, "otp_max_per_client", 2)
    answers = [(await client.post("/api/auth/password/forgot", json={"cpf": cpf})).status_code
               for cpf in CPFS[3:6]]
    # The client's count already holds the signup's and the verifications' requests.
    assert answers[-1] == 429
    assert all(s in (202, 429) for s in answers)


async def test_start_answers_the_same_for_a_number_someone_has_and_a_free_one(
    client: httpx.AsyncClient, signup: Any, app: Any,
) -> None:
    a = await signup()
    b = await signup(cnpj=CNPJS[1], cpf=CPFS[1])
    taken = await client.post("/api/whatsapp/verify/start", headers=a.headers,
                              json={"whatsapp": number_for(CPFS[1])})  # b's verified number
    free = await client.post("/api/whatsapp/verify/start", headers=b.headers,
                             json={"whatsapp": FRESH})
    assert taken.status_code == free.status_code == 202
    assert set(taken.json()) == set(free.json())
    assert {k: v for k, v in taken.json().items() if k != "whatsapp"} == \
        {k: v for k, v in free.json().items() if k != "whatsapp"}
    # Recovery by CPF: a registered and an unknown CPF get the very same body.
    known = await client.post("/api/auth/password/forgot", json={"cpf": CPFS[0]})
    unknown = await client.post("/api/auth/password/forgot", json={"cpf": CPFS[7]})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()


# -- signup without an oracle -----------------------------------------------------------------


async def test_signup_with_a_new_cpf_is_confirmed_by_the_code(
    client: httpx.AsyncClient, plans: Any, app: Any,
) -> None:
    body = signup_body(cnpj=CNPJS[0], cpf=CPFS[0])
    started = await client.post("/api/auth/signup", json=body)
    assert started.status_code == 202
    async with app.state.db.sessionmaker() as s:
        await act_as_system(s)  # the test works on every company's rows
        assert await s.scalar(select(func.count()).select_from(Account)) == 0
    wrong = await client.post("/api/auth/signup/confirm",
                              json={"signup_id": started.json()["signup_id"], "code": "000000"})
    code = await last_code(app, body["admin"]["whatsapp"])
    if code != "000000":
        assert wrong.status_code == 400 and wrong.json()["code"] == "invalid_code"
    done = await client.post("/api/auth/signup/confirm",
                             json={"signup_id": started.json()["signup_id"], "code": code})
    assert done.status_code == 201, done.text
    assert done.json()["access_token"] and done.json()["user"]["cpf"] == CPFS[0]
    replay = await client.post("/api/auth/signup/confirm",
                               json={"signup_id": started.json()["signup_id"], "code": code})
    assert replay.status_code == 400
    [pending] = await rows(app, PendingSignup)
    assert pending.data == {} and pending.password_hash is None  # nothing personal kept


async def test_signup_with_a_taken_cpf_looks_the_same_and_tells_the_owner(
    client: httpx.AsyncClient, signup: Any, app: Any,
) -> None:
    owner = await signup()
    new = signup_body(cnpj=CNPJS[1], cpf=CPFS[1])
    taken = signup_body(cnpj=CNPJS[2], cpf=CPFS[0])  # the owner's CPF
    taken["admin"]["whatsapp"] = taken["company"]["whatsapp"] = FRESH  # the stranger's phone
    a = await client.post("/api/auth/signup", json=new)
    b = await client.post("/api/auth/signup", json=taken)
    assert a.status_code == b.status_code == 202
    assert set(a.json()) == set(b.json())
    assert a.json()["status"] == b.json()["status"] == "pending_confirmation"
    assert b.json()["whatsapp"] == "+55 (21) *****-7766"  # the number typed, as for anyone
    await deliver(app)
    # No code reaches the stranger; the owner is told someone tried.
    assert await inbox(app, FRESH) == []
    told = await inbox(app, number_for(CPFS[0]), "avelar_cadastro_tentativa")
    assert len(told) == 1 and "CPF" in told[0]["text"]
    # Whatever code is tried, the stranger's signup answers like a wrong code.
    for guess in ("000000", "123456"):
        resp = await client.post("/api/auth/signup/confirm",
                                 json={"signup_id": b.json()["signup_id"], "code": guess})
        assert resp.status_code == 400 and resp.json()["code"] == "invalid_code"
    async with app.state.db.sessionmaker() as s:
        await act_as_system(s)  # the test works on every company's rows
        assert await s.scalar(select(func.count()).select_from(User)) == 1
    assert owner.user_id is not None


async def test_a_taken_cnpj_tells_the_company_and_pending_signups_expire(
    client: httpx.AsyncClient, signup: Any, app: Any,
) -> None:
    await signup()
    taken = signup_body(cnpj=CNPJS[0], cpf=CPFS[1])
    resp = await client.post("/api/auth/signup", json=taken)
    assert resp.status_code == 202
    await deliver(app)
    told = await inbox(app, number_for(CPFS[0]), "avelar_cadastro_tentativa")
    assert len(told) == 1 and "CNPJ" in told[0]["text"]

    fresh = signup_body(cnpj=CNPJS[3], cpf=CPFS[3])
    started = await client.post("/api/auth/signup", json=fresh)
    code = await last_code(app, fresh["admin"]["whatsapp"])
    async with app.state.db.sessionmaker() as s, s.begin():
        await act_as_system(s)  # the test works on every company's rows
        await s.execute(update(PendingSignup).where(
            PendingSignup.id == uuid.UUID(started.json()["signup_id"]))
            .values(expires_at=utcnow() - timedelta(seconds=1)))
    late = await client.post("/api/auth/signup/confirm",
                             json={"signup_id": started.json()["signup_id"], "code": code})
    assert late.status_code == 400 and late.json()["code"] == "invalid_code"
    from avadmin.auth.repository import PendingSignupRepository

    async with app.state.db.sessionmaker() as s, s.begin():
        await act_as_system(s)  # the test works on every company's rows
        assert await PendingSignupRepository(s).prune_expired(utcnow()) == 1


# -- recovery ---------------------------------------------------------------------------------


async def test_forgot_password_sets_a_new_one_and_ends_every_session(
    client: httpx.AsyncClient, signup: Any, app: Any,
) -> None:
    a = await signup()
    # Lock the login throttle with wrong passwords first.
    for _ in range(app.state.settings.login_max_failures):
        await client.post("/api/auth/login", json={"cpf": CPFS[0], "password": "errada123"})
    locked = await client.post("/api/auth/login", json={"cpf": CPFS[0], "password": a.password})
    assert locked.status_code == 429
    start = await client.post("/api/auth/password/forgot", json={"cpf": CPFS[0]})
    assert start.status_code == 202
    code = await last_code(app, number_for(CPFS[0]))
    bad = await client.post("/api/auth/password/reset",
                            json={"cpf": CPFS[7], "code": code, "new_password": "novaSenha2026"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_code"  # unknown CPF
    ok = await client.post("/api/auth/password/reset",
                           json={"cpf": CPFS[0], "code": code, "new_password": "novaSenha2026"})
    assert ok.status_code == 204, ok.text
    # The old refresh token is revoked; the old access token is refused (its iat is moved to
    # before the reset, as tokens carry whole seconds).
    assert (await client.post("/api/auth/refresh",
                              json={"refresh_token": a.refresh})).status_code == 401
    async with app.state.db.sessionmaker() as s, s.begin():
        await act_as_system(s)  # the test works on every company's rows
        await s.execute(update(User).where(User.id == a.user_id).values(
            sessions_valid_after=func.now() + timedelta(seconds=5)))
    old = await client.get("/api/users/me", headers=a.headers)
    assert old.status_code == 401 and old.json()["code"] == "session_revoked"
    # The other modules learn it by event; the throttle was reset; the new password works.
    events = await rows(app, OutboxEvent, OutboxEvent.event_type == "user.updated")
    assert events and events[-1].payload["sessions_valid_after"] is not None
    assert all(t.failures == 0 for t in await rows(app, LoginThrottle))
    login = await client.post("/api/auth/login", json={"cpf": CPFS[0], "password": "novaSenha2026"})
    assert login.status_code == 200


async def test_recovery_needs_a_verified_number(client: httpx.AsyncClient, signup: Any,
                                                app: Any) -> None:
    await signup()
    async with app.state.db.sessionmaker() as s, s.begin():
        await act_as_system(s)  # the test works on every company's rows
        await s.execute(update(User).values(whatsapp_verified=False))
    resp = await client.post("/api/auth/password/forgot", json={"cpf": CPFS[0]})
    assert resp.status_code == 202
    await deliver(app)
    assert len(await inbox(app, number_for(CPFS[0]), "avelar_codigo")) == 1  # the signup's only


async def test_admin_resets_a_users_password_and_the_user_must_change_it(
    client: httpx.AsyncClient, signup: Any, app: Any,
) -> None:
    a = await signup()
    created = await client.post(f"/api/accounts/{a.account_id}/users", headers=a.headers, json={
        "full_name": "Carlos Vendedor", "cpf": CPFS[1], "whatsapp": "11912345678",
        "password": "vendas2024x", "role": "user"})
    assert created.status_code == 201
    before = await client.post("/api/auth/login", json={"cpf": CPFS[1], "password": "vendas2024x"})
    assert before.status_code == 200
    for cpf in (CPFS[1], CPFS[8]):  # a user of the company and an unknown CPF: same answer
        resp = await client.post("/api/users/password-reset", headers=a.headers,
                                 json={"cpf": cpf, "temporary_password": "temporaria123"})
        assert resp.status_code == 202 and resp.json() == {"status": "accepted"}
    assert (await client.post("/api/auth/refresh", json={
        "refresh_token": before.json()["refresh_token"]})).status_code == 401
    login = await client.post("/api/auth/login",
                              json={"cpf": CPFS[1], "password": "temporaria123"})
    assert login.status_code == 403 and login.json()["code"] == "password_change_required"
    changed = await client.post("/api/auth/password/change", json={
        "cpf": CPFS[1], "current_password": "temporaria123", "new_password": "minhaSenha2026"})
    assert changed.status_code == 200 and changed.json()["access_token"]
    assert (await client.post("/api/auth/login", json={
        "cpf": CPFS[1], "password": "minhaSenha2026"})).status_code == 200


# -- notifications ----------------------------------------------------------------------------


def purchase_event(seller: Any, buyer: Any, event_id: uuid.UUID | None = None,
                   kind: str = "created") -> dict[str, Any]:
    return {"id": str(event_id or uuid.uuid4()), "type": f"stocktech.transaction.{kind}",
            "occurred_at": utcnow().isoformat(), "source": "StockTech", "schema_version": 1,
            "data": {"transaction_id": str(uuid.uuid4()), "product_id": str(uuid.uuid4()),
                     "product_code": "ST123456R", "product_name": "Tela Frontal iPhone 11",
                     "quantity": 3, "unit_price": "411.52", "total_amount": "1234.56",
                     "seller_account_id": str(seller.account_id),
                     "buyer_account_id": str(buyer.account_id),
                     "buyer_user_id": str(buyer.user_id),
                     "whatsapp_chat_id": "5511999822472@c.us"}}


async def consume(app: Any, stream: str, *envelopes: dict[str, Any]) -> StreamConsumer:
    """Publish the envelopes on a stream and let a real consumer (handled-events table) read
    them, as the one AvAdmin runs does."""
    redis = app.state.redis
    for env in envelopes:
        await redis.xadd(stream, {STREAM_FIELD: json.dumps(env)})
    consumer = StreamConsumer(redis, stream=stream, group="avadmin-notifications",
                              consumer_name="test", handler=handle_event,
                              sessionmaker=app.state.db.sessionmaker, handled_model=HandledEvent)
    await consumer.ensure_group()
    await consumer.poll(block_ms=100)
    return consumer


async def test_a_purchase_tells_the_seller_once_even_when_delivered_twice(
    client: httpx.AsyncClient, signup: Any, app: Any,
) -> None:
    seller = await signup()
    buyer = await signup(cnpj=CNPJS[1], cpf=CPFS[1])
    stream = f"{app.state.settings.notifications_stocktech_stream}:{uuid.uuid4().hex[:6]}"
    event = purchase_event(seller, buyer)
    try:
        consumer = await consume(app, stream, event, event)
        assert consumer.handled == 1 and consumer.duplicates == 1
        # Handler run again directly (a second consumer group, a replay): still one message.
        from avelar_kit.events.envelope import EventEnvelope

        async with app.state.db.sessionmaker() as s, s.begin():
            await act_as_system(s)  # the test works on every company's rows
            await handle_event(EventEnvelope.model_validate(event), s)
    finally:
        await app.state.redis.delete(stream)
    assert await deliver(app) == 1
    [msg] = await inbox(app, number_for(CPFS[0]), "avelar_nova_compra")
    assert "Tela Frontal iPhone 11" in msg["text"] and "ST123456R" in msg["text"]
    assert "quantidade 3" in msg["text"] and "Empresa Teste LTDA" in msg["text"]
    assert "R$ 1.234,56" in msg["text"]
    assert f"https://wa.me/{number_for(CPFS[1])[1:]}" in msg["text"]
    [row] = await rows(app, OutgoingMessage, OutgoingMessage.template == "avelar_nova_compra")
    assert row.conversation_id == "5511999822472@c.us" and row.account_id == seller.account_id


async def test_no_message_when_the_plan_lacks_the_whatsapp_feature(
    client: httpx.AsyncClient, signup: Any, app: Any,
) -> None:
    seller = await signup(plan="Lojista")
    buyer = await signup(cnpj=CNPJS[1], cpf=CPFS[1])
    async with app.state.db.sessionmaker() as s, s.begin():
        await act_as_system(s)  # the test works on every company's rows
        await s.execute(update(Plan).where(Plan.name == "Lojista").values(features=[]))
    stream = f"{app.state.settings.notifications_stocktech_stream}:{uuid.uuid4().hex[:6]}"
    try:
        consumer = await consume(app, stream, purchase_event(seller, buyer),
                                 purchase_event(buyer, seller, kind="completed"))
        assert consumer.handled == 2
    finally:
        await app.state.redis.delete(stream)
    await deliver(app)
    # Lojista (seller) got nothing for the sale nor for its completed purchase; Empresa did.
    assert await inbox(app, number_for(CPFS[0]), "avelar_nova_compra") == []
    assert await inbox(app, number_for(CPFS[0]), "avelar_compra_concluida") == []
    assert await rows(app, OutgoingMessage, OutgoingMessage.account_id == seller.account_id,
                      OutgoingMessage.template != "avelar_codigo") == []


async def test_buyer_told_of_completion_and_cancellation_and_admin_of_billing(
    client: httpx.AsyncClient, signup: Any, app: Any,
) -> None:
    seller = await signup()
    buyer = await signup(cnpj=CNPJS[1], cpf=CPFS[1])
    billing = [
        {"id": str(uuid.uuid4()), "type": "billing.payment_failed",
         "occurred_at": utcnow().isoformat(), "source": "AvAdmin",
         "data": {"account_id": str(buyer.account_id), "amount": "249.90"}},
        {"id": str(uuid.uuid4()), "type": "billing.suspension_upcoming",
         "occurred_at": utcnow().isoformat(), "source": "AvAdmin",
         "data": {"account_id": str(buyer.account_id), "suspend_on": "2026-12-10"}},
    ]
    stream = f"{app.state.settings.notifications_stocktech_stream}:{uuid.uuid4().hex[:6]}"
    try:
        await consume(app, stream, purchase_event(seller, buyer, kind="completed"),
                      purchase_event(seller, buyer, kind="cancelled"), *billing)
    finally:
        await app.state.redis.delete(stream)
    await deliver(app)
    texts = {m["template"]: m["text"] for m in await inbox(app, number_for(CPFS[1]))}
    assert "concluída" in texts["avelar_compra_concluida"]
    assert "cancelada" in texts["avelar_compra_cancelada"]
    assert "R$ 249,90" in texts["avelar_pagamento_falhou"]
    assert "10/12/2026" in texts["avelar_suspensao_proxima"]


# -- delivery: outage, retries, dead letters --------------------------------------------------


async def test_an_outage_fails_no_request_and_messages_go_out_once_it_is_over(
    client: httpx.AsyncClient, signup: Any, app: Any,
) -> None:
    seller = await signup()
    buyer = await signup(cnpj=CNPJS[1], cpf=CPFS[1])
    await outage(app, 503)
    try:
        # A request that sends a code still succeeds during the outage.
        started = await client.post("/api/auth/signup", json=signup_body(CNPJS[3], CPFS[3]))
        assert started.status_code == 202
        stream = f"{app.state.settings.notifications_stocktech_stream}:{uuid.uuid4().hex[:6]}"
        try:
            await consume(app, stream, purchase_event(seller, buyer))
        finally:
            await app.state.redis.delete(stream)
        assert await deliver(app) == 0
        pending = await rows(app, OutgoingMessage, OutgoingMessage.status == "pending")
        assert len(pending) == 2 and all(m.attempts == 1 and m.last_error for m in pending)
        assert all(m.next_attempt_at > utcnow() for m in pending)  # backing off
        assert await app.state.dispatcher.deliver_due() == 0  # not due yet: nothing tried
    finally:
        await outage(app, None)
    later = utcnow() + timedelta(minutes=1)
    assert await app.state.dispatcher.deliver_due(now=later) == 2
    assert len(await inbox(app, number_for(CPFS[0]), "avelar_nova_compra")) == 1
    assert len(await inbox(app, number_for(CPFS[3]), "avelar_codigo")) == 1
    assert await app.state.dispatcher.deliver_due(now=later) == 0  # sent once


async def test_permanent_errors_and_exhausted_retries_become_dead_letters(
    client: httpx.AsyncClient, plans: Any, app: Any,
) -> None:
    from avadmin.messaging import templates
    from avadmin.messaging.repository import OutgoingMessageRepository

    async with app.state.db.sessionmaker() as s, s.begin():
        await act_as_system(s)  # the test works on every company's rows
        await OutgoingMessageRepository(s).enqueue("+5511987654321",
                                                   TemplateMessage("nao_aprovado", "pt_BR"))
    await deliver(app)  # unknown template: permanent, dead at the first attempt
    async with app.state.db.sessionmaker() as s, s.begin():
        await act_as_system(s)  # the test works on every company's rows
        await OutgoingMessageRepository(s).enqueue("+5511987654322",
                                                   templates.signup_attempt("CPF"))
    await outage(app, 500)
    try:
        now = utcnow()
        for _ in range(app.state.settings.messaging_max_attempts + 2):
            await app.state.dispatcher.deliver_due(now=now)
            now += timedelta(hours=1)
    finally:
        await outage(app, None)
    dead = await rows(app, OutgoingMessage, OutgoingMessage.status == MessageStatus.dead.value)
    by_number = {m.to_number: m for m in dead}
    assert set(by_number) == {"+5511987654321", "+5511987654322"}
    assert all(m.dead_at is not None and m.last_error for m in dead)
    assert by_number["+5511987654321"].attempts == 1
    assert "132001" in (by_number["+5511987654321"].last_error or "")
    assert by_number["+5511987654322"].attempts == app.state.settings.messaging_max_attempts


async def test_a_code_that_expires_before_delivery_is_never_sent(
    client: httpx.AsyncClient, signup: Any, app: Any,
) -> None:
    a = await signup()
    await outage(app, 503)
    try:
        await client.post("/api/whatsapp/verify/start", headers=a.headers, json={"whatsapp": FRESH})
        await deliver(app)
    finally:
        await outage(app, None)
    assert await app.state.dispatcher.deliver_due(now=utcnow() + timedelta(minutes=11)) == 0
    [row] = await rows(app, OutgoingMessage, OutgoingMessage.to_number == FRESH)
    assert row.status == "expired" and row.components == []
    assert await inbox(app, FRESH) == []
    assert confirmed_signup is not None


async def test_the_notification_consumers_read_under_the_stable_name_and_only_their_types(
    app: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """AvAdmin's own wiring (``start_whatsapp``): both streams read under the kit's stable
    consumer name (a restarted replica resumes its pending notices at once), and an event type
    the notifier does not route is acknowledged without a handled-events row."""
    from avadmin.notifications.service import ROUTES
    from avadmin.whatsapp.runtime import start_whatsapp

    async def not_in_background(self: StreamConsumer) -> None:
        return None  # the test polls them itself

    monkeypatch.setattr(StreamConsumer, "start", not_in_background)
    run = uuid.uuid4().hex[:8]
    settings = app.state.settings.model_copy(update={
        "notifications_enabled": True, "messaging_enabled": False,
        "consumer_name": "avadmin-7",
        "notifications_stocktech_stream": f"avelar:test:{run}:wiring:stocktech",
        "events_stream": f"avelar:test:{run}:wiring:avadmin"})
    kept = {k: getattr(app.state, k) for k in
            ("messaging_port", "dispatcher", "notification_consumers")}
    redis = app.state.redis
    try:
        await start_whatsapp(app, settings)
        started = app.state.notification_consumers
        assert [c.stream for c in started] == [settings.notifications_stocktech_stream,
                                               settings.events_stream]
        assert {c.consumer_name for c in started} == {"avadmin-7"}
        assert all(c.event_types == frozenset(ROUTES) for c in started)
        stocktech = started[0]
        await stocktech.ensure_group()
        unrouted = {"id": str(uuid.uuid4()), "type": "stocktech.product.created",
                    "occurred_at": "2025-05-10T02:30:00+00:00", "source": "StockTech",
                    "schema_version": 1, "data": {"account_id": str(uuid.uuid4())}}
        await redis.xadd(stocktech.stream, {STREAM_FIELD: json.dumps(unrouted)})
        assert await stocktech.poll(block_ms=100) == 1
        assert (stocktech.skipped, stocktech.handled) == (1, 0)
        assert await rows(app, HandledEvent,
                          HandledEvent.event_id == uuid.UUID(unrouted["id"])) == []
        assert (await redis.xpending(stocktech.stream, stocktech.group))["pending"] == 0
    finally:
        if app.state.messaging_port is not None:
            await app.state.messaging_port.aclose()
        for key, value in kept.items():
            setattr(app.state, key, value)
        await redis.delete(settings.notifications_stocktech_stream, settings.events_stream)
