"""The portal's own behaviour, in process, with every API down (a closed port): CSRF, the
login redirect, security headers, errors next to the field, a module down shown as a notice."""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager

from avelar_web.config import WebSettings
from avelar_web.main import create_app


def _closed_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    down = _closed_url()
    app = create_app(WebSettings(avadmin_url=down, stocktech_url=down, lucrum_url=down,
                                 api_timeout_seconds=2))
    async with LifespanManager(app, startup_timeout=60,
                               shutdown_timeout=60) as manager, httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://testserver",
            follow_redirects=False) as c:
        yield c


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert match, html[:500]
    return match.group(1)


async def test_a_page_of_the_account_sends_to_login_and_back(client: httpx.AsyncClient) -> None:
    resp = await client.get("/lucrum/lancamentos?q=x")
    assert resp.status_code == 303
    assert resp.headers["location"] == "/entrar?next=/lucrum/lancamentos%3Fq%3Dx"


async def test_a_form_without_its_csrf_token_is_refused(client: httpx.AsyncClient) -> None:
    page = await client.get("/entrar")
    assert page.status_code == 200
    refused = await client.post("/entrar", data={"cpf": "529.982.247-25", "password": "x"})
    assert refused.status_code == 403
    assert "Recarregue a página" in refused.text
    wrong = await client.post("/entrar", data={"cpf": "529.982.247-25", "password": "x",
                                         "csrf": "0" * 64})
    assert wrong.status_code == 403


async def test_field_errors_are_shown_next_to_the_field(client: httpx.AsyncClient) -> None:
    token = _csrf((await client.get("/entrar")).text)
    resp = await client.post("/entrar", data={"cpf": "123", "password": "", "csrf": token})
    assert resp.status_code == 422
    assert 'id="e-cpf">CPF inválido<' in resp.text
    assert 'id="e-password">Informe a senha<' in resp.text


async def test_security_headers_and_httponly_cookies(client: httpx.AsyncClient) -> None:
    resp = await client.get("/entrar")
    assert "script-src 'self'" in resp.headers["content-security-policy"]
    # Product photos are https addresses of the sellers' choosing.
    assert "img-src 'self' data: https:;" in resp.headers["content-security-policy"]
    assert resp.headers["x-frame-options"] == "DENY"
    assert resp.headers["x-content-type-options"] == "nosniff"
    cookie = resp.headers["set-cookie"]
    assert "avw_csrf=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain HTTP here; over HTTPS the flag is set
    assert resp.headers["x-request-id"]


async def test_a_module_down_is_a_notice_and_health_says_which(client: httpx.AsyncClient) -> None:
    landing = await client.get("/")
    assert landing.status_code == 200
    assert "AvAdmin está indisponível" in landing.text
    token = _csrf((await client.get("/entrar")).text)
    login = await client.post("/entrar", data={"cpf": "529.982.247-25", "password": "segredo123",
                                         "csrf": token})
    assert login.status_code == 503
    assert "indisponível" in login.text
    health = (await client.get("/health")).json()
    assert health["status"] == "ok"
    assert health["modules"] == {"AvAdmin": "down", "StockTech": "down", "Lucrum": "down"}


async def test_the_login_return_address_stays_on_this_site(client: httpx.AsyncClient) -> None:
    html = (await client.get("/entrar?next=//evil.example/x")).text
    assert 'name="next" value="/painel"' in html


async def test_portal_serves_metrics_like_every_module() -> None:
    from avelar_kit.testing.metrics import parse, value

    app = create_app(WebSettings())
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://web.test") as c:
            assert (await c.get("/health/live")).status_code == 200
            samples = parse((await c.get("/metrics")).text)
    assert value(samples, "avelar_http_request_duration_seconds_count", module="Web",
                 route="/health/live") >= 1


async def test_an_expired_session_returns_to_login_then_to_the_page(
    client: httpx.AsyncClient,
) -> None:
    import time

    import jwt

    expired = jwt.encode({"sub": "x", "exp": int(time.time()) - 10, "role": "admin",
                          "enabled_modules": ["Lucrum"]}, "k" * 32, algorithm="HS256")
    client.cookies.set("avw_access", expired)
    resp = await client.get("/lucrum/fluxo?group_by=category")
    assert resp.status_code == 303
    assert resp.headers["location"] == "/entrar?next=/lucrum/fluxo%3Fgroup_by%3Dcategory"
    assert 'avw_access=""' in resp.headers.get("set-cookie", "")
    login = await client.get("/entrar?next=/lucrum/fluxo%3Fgroup_by%3Dcategory")
    assert 'name="next" value="/lucrum/fluxo?group_by=category"' in login.text


async def test_forgot_password_checks_the_cpf_and_says_when_avadmin_is_down(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/senha/esqueci")
    assert page.status_code == 200
    token = _csrf(page.text)
    bad = await client.post("/senha/esqueci", data={"cpf": "111.111.111-12", "csrf": token})
    assert bad.status_code == 422
    assert 'id="e-cpf">CPF inválido<' in bad.text
    down = await client.post("/senha/esqueci", data={"cpf": "529.982.247-25", "csrf": token})
    assert down.status_code == 503
    assert "AvAdmin está indisponível" in down.text
    mismatch = await client.post("/senha/redefinir", data={
        "cpf": "52998224725", "code": "123456", "new_password": "abcdefgh1",
        "password2": "abcdefgh2", "csrf": token})
    assert mismatch.status_code == 422
    assert 'id="e-password2">As senhas não conferem<' in mismatch.text
    assert 'value="52998224725"' in mismatch.text  # the CPF typed stays


async def test_the_password_and_company_pages_ask_for_a_login(client: httpx.AsyncClient) -> None:
    for path in ("/conta/senha", "/empresa"):
        resp = await client.get(path)
        assert resp.status_code == 303
        assert resp.headers["location"] == f"/entrar?next={path}"


async def test_the_privacy_notice_is_public_and_linked_from_every_page_and_the_signup(
    client: httpx.AsyncClient,
) -> None:
    notice = await client.get("/privacidade")
    assert notice.status_code == 200
    for words in ("CPF", "WhatsApp", "Por quanto tempo", "AvAdmin", "StockTech", "Lucrum",
                  "art. 18", "15 dias"):
        assert words in notice.text, words
    for path in ("/entrar", "/privacidade", "/cadastro"):
        assert 'href="/privacidade"' in (await client.get(path)).text, path
    assert "aviso de privacidade" in (await client.get("/cadastro")).text
