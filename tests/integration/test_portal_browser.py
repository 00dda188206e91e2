"""Issue 14 in a real browser: headless Chromium (Debian's ``chromium``, driven by Playwright
for Python; ``make chromium`` installs it) against the real AvAdmin, StockTech, Lucrum, the
MercadoPago stand-in (``billing_stack``, the same processes as the billing e2e) and the portal,
each its own process. Skipped when /usr/bin/chromium is missing.

Screenshots of the pages land in ``test-artifacts/portal/`` (not committed), desktop and
360 px wide."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import (
    ROOT,
    RUN_ID,
    free_port,
    new_cnpj,
    new_cpf,
    new_whatsapp,
    read_code,
    signup_confirmed,
)
from .test_billing_e2e import (  # noqa: F401 (billing_stack: the shared fixture)
    OPERATOR,
    BillingStack,
    billing_stack,
    small_plan,
)

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
ARTIFACTS = ROOT / "test-artifacts" / "portal"
PASSWORD = "senhaSegura123"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium (make chromium)"),
]


@dataclass
class Portal:
    url: str
    stack: BillingStack


@pytest.fixture(scope="module")
def portal(billing_stack: BillingStack) -> Iterator[Portal]:  # noqa: F811
    port = free_port()
    log_path = Path(billing_stack.avadmin.log).parent / "web.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEB_")}
    env.update(WEB_AVADMIN_URL=billing_stack.avadmin.url,
               WEB_STOCKTECH_URL=billing_stack.stocktech.url,
               WEB_LUCRUM_URL=billing_stack.lucrum.url, WEB_LOG_LEVEL="WARNING")
    with log_path.open("ab") as log:
        proc = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "avelar_web.cli", "serve", "--host", "127.0.0.1",
             "--port", str(port), "--no-access-log"], env=env, stdout=log, stderr=log, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/health/live", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()[-2000:]
        time.sleep(0.1)
    try:
        yield Portal(url, billing_stack)
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield b
        finally:
            await b.close()


async def new_page(browser: Any, width: int = 1280, *, axe: bool = False) -> Any:
    # axe-core is injected as a script of the test's own: only that page bypasses the CSP.
    context = await browser.new_context(viewport={"width": width, "height": 900},
                                        locale="pt-BR", bypass_csp=axe)
    page = await context.new_page()
    page.set_default_timeout(15_000)
    return page


AXE = Path(__file__).parent / "vendor" / "axe.min.js"  # axe-core 4 (npm), MPL-2.0


async def serious_violations(page: Any) -> list[str]:
    """axe-core's WCAG 2 A/AA rules on the page: the serious and critical violations."""
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate(
        "async () => (await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa']})).violations"
        ".filter(v => ['serious', 'critical'].includes(v.impact))"
        ".map(v => v.id + ': ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '))")
    return list(result)


async def shot(page: Any, name: str) -> None:
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def company(name: str) -> dict[str, Any]:
    """A company signed up over AvAdmin's API; its admin's CPF and password to log in with."""
    cpf, number = new_cpf(), new_whatsapp()
    body = {"company": {"company_name": name, "cnpj": new_cnpj(), "whatsapp": number,
                        "responsible_name": "Bia Vendas"},
            "admin": {"full_name": "Bia Vendas", "cpf": cpf, "whatsapp": number,
                      "password": PASSWORD}, "plan_name": "Empresa"}
    return {"cpf": cpf, "body": body}


async def login(page: Any, portal: Portal, cpf: str, password: str = PASSWORD) -> None:
    await page.goto(f"{portal.url}/entrar")
    # Typed without the mask: the page masks it and the portal accepts both.
    await page.fill("#f-cpf", cpf)
    await page.fill("#f-password", password)
    await page.click("main button[type=submit]")
    await page.wait_for_url(re.compile(r".*/painel"))


async def test_signup_search_buy_and_both_companies_see_the_sale(
    portal: Portal, browser: Any
) -> None:
    s = portal.stack
    seller = company(f"Vendedora {RUN_ID}")
    async with httpx.AsyncClient(base_url=s.avadmin.url, timeout=10) as c:
        await signup_confirmed(s.avadmin.url, s.whatsapp_url, seller["body"])
        token = (await c.post("/api/auth/login", json={"cpf": seller["cpf"],
                                                        "password": PASSWORD})).json()
    product_name = f"Tela OLED {RUN_ID}"
    async with httpx.AsyncClient(timeout=10) as c:
        resp = await c.post(f"{s.stocktech.url}/api/products",
                      headers={"Authorization": f"Bearer {token['access_token']}"},
                      json={"name": product_name, "category_id": s.category_id,
                            "brand_id": s.brand_id, "price": "1234.56", "stock_quantity": 5,
                            "specifications": {"Tamanho": "6,1 pol"}})
        assert resp.status_code == 201, resp.text
        account = await c.post(f"{s.lucrum.url}/api/bank-accounts", json={
            "bank_code": "001", "agency": "0001", "account_number": "1000-1"},
            headers={"Authorization": f"Bearer {token['access_token']}"})
        assert account.status_code == 201, account.text

    # The buyer signs up in the browser: masks typed, errors next to the field first.
    page = await new_page(browser)
    await page.goto(f"{portal.url}/")
    assert "R$ 249,90" in await page.inner_text("main")
    await shot(page, "landing")
    await page.goto(f"{portal.url}/cadastro?plano=Empresa")
    buyer_cpf = new_cpf()
    await page.fill("#f-company-company_name", f"Compradora {RUN_ID}")
    await page.fill("#f-company-cnpj", "11.222.333/0001-82")  # wrong check digit
    buyer_number = new_whatsapp()
    await page.fill("#f-company-whatsapp", buyer_number[3:])
    await page.fill("#f-admin-full_name", "Caio Compras")
    await page.fill("#f-admin-cpf", buyer_cpf)
    await page.fill("#f-admin-password", PASSWORD)
    await page.fill("#f-password2", PASSWORD)
    await page.click("main button[type=submit]")
    assert await page.inner_text("#e-company-cnpj") == "CNPJ inválido"
    await page.fill("#f-company-cnpj", new_cnpj())
    await page.fill("#f-admin-password", PASSWORD)
    await page.fill("#f-password2", PASSWORD)
    await page.click("main button[type=submit]")
    # The code sent to the admin's WhatsApp (the stand-in's inbox) confirms the signup.
    await page.wait_for_selector("#f-code")
    await page.fill("#f-code", await read_code(s.whatsapp_url, buyer_number))
    await page.click("main button[type=submit]")
    await page.wait_for_url(re.compile(r".*/painel"))
    await shot(page, "dashboard")
    # Its bank account, where Lucrum will post the purchase.
    await page.goto(f"{portal.url}/lucrum")
    await page.fill("#f-bank_code", "237")
    await page.fill("#f-agency", "0002")
    await page.fill("#f-account_number", "2000-2")
    await page.click("form[action='/lucrum/contas'] button[type=submit]")
    await page.wait_for_url(re.compile(r".*/lucrum\?ok=.*"))

    # Search, open, buy.
    await page.goto(f"{portal.url}/marketplace")
    await page.fill("#f-q", f"OLED {RUN_ID}")
    await page.click("form.filters button[type=submit]")
    card = page.locator("article.card", has_text=product_name)
    await card.wait_for()
    assert "R$ 1.234,56" in await card.inner_text()
    await shot(page, "marketplace")
    await card.locator("a").click()
    await page.wait_for_url(re.compile(r".*/marketplace/[0-9a-f-]+$"))
    assert "6,1 pol" in await page.inner_text("main")
    await shot(page, "product")
    await page.fill("#f-quantity", "2")
    await page.click("main form button[type=submit]")
    await page.wait_for_url(re.compile(r".*/stocktech/transacoes.*"))
    row = page.locator("tr.tx", has_text=product_name)
    assert "R$ 2.469,12" in await row.inner_text()
    assert "pendente" in await row.inner_text()
    assert (await row.locator("a", has_text="WhatsApp").get_attribute("href") or "") \
        .startswith("https://wa.me/")
    await shot(page, "transactions")

    # The seller logs in by CPF (masked), sees the sale and completes it.
    seller_page = await new_page(browser)
    await login(seller_page, portal, seller["cpf"])
    await seller_page.goto(f"{portal.url}/stocktech/transacoes?papel=seller")
    sale = seller_page.locator("tr.tx", has_text=product_name)
    assert "venda" in await sale.inner_text()
    assert await sale.locator("a", has_text="WhatsApp").count() == 1
    await sale.locator("button", has_text="Concluir").click()
    await seller_page.wait_for_url(re.compile(r".*ok=.*"))
    assert "concluída" in await seller_page.locator(
        "tr.tx", has_text=product_name).inner_text()
    await page.reload()
    assert "concluída" in await page.locator("tr.tx", has_text=product_name).inner_text()

    # The sale reaches both companies' Lucrum (by event): income for one, expense for the other.
    for who, label in ((seller_page, "Venda StockTech"), (page, "Compra StockTech")):
        deadline = time.monotonic() + 15
        while True:
            await who.goto(f"{portal.url}/lucrum/lancamentos?q={RUN_ID}")
            row = who.locator("#lancamentos tr", has_text=f"{label}: 2x {product_name}")
            if await row.count():
                break
            assert time.monotonic() < deadline, f"{label} not in Lucrum"
            await asyncio.sleep(0.3)
        assert "R$ 2.469,12" in await row.inner_text()
    await shot(page, "entries_purchase")
    await page.context.close()
    await seller_page.context.close()


async def test_an_entry_typed_as_1234_56_shows_as_brl_and_the_chart_draws(
    portal: Portal, browser: Any
) -> None:
    owner = company(f"Financeira {RUN_ID}")
    await signup_confirmed(portal.stack.avadmin.url, portal.stack.whatsapp_url, owner["body"])
    page = await new_page(browser)
    await login(page, portal, owner["cpf"])
    await page.goto(f"{portal.url}/lucrum")
    await page.fill("#f-bank_code", "341")
    await page.fill("#f-agency", "1234")
    await page.fill("#f-account_number", "12345-6")
    await page.fill("#f-opening_balance", "100,00")
    await page.click("form[action='/lucrum/contas'] button[type=submit]")
    await page.wait_for_url(re.compile(r".*/lucrum\?ok=.*"))
    assert "R$ 100,00" in await page.inner_text("main table")
    await shot(page, "bank_accounts")

    await page.goto(f"{portal.url}/lucrum/lancamentos")
    await page.click("summary:has-text('Novo lançamento')")
    await page.select_option("#f-type", "income")
    await page.fill("#f-description", f"Venda balcão {RUN_ID}")
    await page.fill("#f-amount", "abc")
    await page.click("form[action='/lucrum/lancamentos'] button[type=submit]")
    assert "Valor inválido" in await page.inner_text("#e-amount")
    await page.select_option("#f-type", "income")
    await page.fill("#f-amount", "1.234,56")
    await page.click("form[action='/lucrum/lancamentos'] button[type=submit]")
    await page.wait_for_url(re.compile(r".*ok=.*"))
    row = page.locator("#lancamentos tr", has_text=f"Venda balcão {RUN_ID}")
    text = await row.inner_text()
    assert "R$ 1.234,56" in text
    assert re.search(r"LC\d{8}[A-Z]", text)
    assert re.search(r"\d{2}/\d{2}/\d{4}", text)
    await shot(page, "entries")
    await page.goto(f"{portal.url}/lucrum")
    assert "R$ 1.334,56" in await page.inner_text("main table")

    await page.goto(f"{portal.url}/lucrum/fluxo")
    await page.wait_for_selector("#cash-flow-chart[data-ready='1']")
    assert "R$ 1.234,56" in await page.inner_text("main table")
    await shot(page, "cash_flow")
    await page.context.close()


async def test_a_user_role_sees_no_admin_actions_and_csrf_and_logout(
    portal: Portal, browser: Any
) -> None:
    owner = company(f"Papéis {RUN_ID}")
    await signup_confirmed(portal.stack.avadmin.url, portal.stack.whatsapp_url, owner["body"])
    admin = await new_page(browser)
    await login(admin, portal, owner["cpf"])
    # The admin invites a user (role "user") from the users page.
    user_cpf = new_cpf()
    await admin.goto(f"{portal.url}/usuarios")
    await admin.fill("#f-full_name", "Davi Balcão")
    await admin.fill("#f-cpf", user_cpf)
    await admin.fill("#f-whatsapp", "(21) 99876-5432")
    await admin.fill("#f-password", PASSWORD)
    await admin.click("form[action='/usuarios'] button[type=submit]")
    await admin.wait_for_url(re.compile(r".*/usuarios\?ok=.*"))
    assert "(21) 99876-5432" in await admin.inner_text("main table")
    await shot(admin, "users")
    # The admin sees the admin-only actions.
    await admin.goto(f"{portal.url}/lucrum")
    assert await admin.locator("form[action='/lucrum/contas']").count() == 1
    assert await admin.locator("nav a[href='/usuarios']").count() == 1

    user = await new_page(browser)
    await login(user, portal, user_cpf)
    assert await user.locator("nav a[href='/usuarios']").count() == 0
    assert await user.locator("nav a[href='/plano']").count() == 0
    await user.goto(f"{portal.url}/lucrum")
    assert await user.locator("form[action='/lucrum/contas']").count() == 0
    await user.goto(f"{portal.url}/stocktech/produtos")
    assert await user.locator("button[data-action='deactivate']").count() == 0

    # The access token gone (expired cookie): the next page refreshes it with the refresh
    # token at AvAdmin, and the person stays on the page.
    await user.context.clear_cookies(name="avw_access")
    await user.goto(f"{portal.url}/stocktech/transacoes")
    assert user.url.endswith("/stocktech/transacoes")
    assert "avw_access" in {c["name"] for c in await user.context.cookies()}

    # A form posted without the session's CSRF token is refused.
    refused = await user.request.post(f"{portal.url}/lucrum/lancamentos",
                                      form={"description": "x", "amount": "1,00"})
    assert refused.status == 403
    assert "Recarregue a página" in await refused.text()

    # Logout clears every cookie of the session; the account's pages then ask for a login.
    await user.click("nav form[action='/sair'] button")
    await user.wait_for_url(re.compile(r".*/entrar.*"))
    names = {c["name"] for c in await user.context.cookies()}
    assert not names & {"avw_access", "avw_refresh"}, names
    await user.goto(f"{portal.url}/painel")
    assert "/entrar?next=/painel" in user.url
    await user.context.close()
    await admin.context.close()


async def test_pix_checkout_shows_the_qr_code_and_the_main_pages_fit_a_phone(
    portal: Portal, browser: Any
) -> None:
    owner = company(f"Celular {RUN_ID}")
    await signup_confirmed(portal.stack.avadmin.url, portal.stack.whatsapp_url, owner["body"])
    page = await new_page(browser, width=360, axe=True)
    await login(page, portal, owner["cpf"])
    await page.goto(f"{portal.url}/plano")
    plan = page.locator("article.plan", has_text="Corporativo")
    await plan.locator("button[value='pix']").click()
    await page.wait_for_url(re.compile(r".*/plano/checkout"))
    assert await page.locator("img.qr").count() == 1
    assert (await page.input_value("#pix-code")).strip()
    assert "R$ 699,90" in await page.inner_text("main")
    await shot(page, "phone_pix")
    found: dict[str, list[str]] = {}
    for path in ("/painel", "/marketplace", "/stocktech/transacoes", "/stocktech/produtos",
                 "/lucrum", "/lucrum/lancamentos", "/lucrum/fluxo", "/lucrum/importar",
                 "/usuarios", "/plano"):
        await page.goto(f"{portal.url}{path}")
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 362, (path, width)
        await shot(page, "phone_" + path.strip("/").replace("/", "_"))
        found[path] = await serious_violations(page)
    # The public pages too, logged out.
    await page.click("nav form[action='/sair'] button")
    for path in ("/", "/entrar", "/cadastro", "/operador/entrar"):
        await page.goto(f"{portal.url}{path}")
        found[path] = await serious_violations(page)
    assert not {p: v for p, v in found.items() if v}, found
    await page.context.close()


async def test_plan_limit_message_import_and_an_operator_suspending_hides_the_products(
    portal: Portal, browser: Any
) -> None:
    s = portal.stack
    plan = await small_plan(s, "Mini", max_products=1)
    owner = company(f"Limitada {RUN_ID}")
    owner["body"]["plan_name"] = plan["name"]
    viewer = company(f"Olhadora {RUN_ID}")
    async with httpx.AsyncClient(base_url=s.avadmin.url, timeout=10) as c:
        await signup_confirmed(s.avadmin.url, s.whatsapp_url, owner["body"])
        await signup_confirmed(s.avadmin.url, s.whatsapp_url, viewer["body"])
        token = (await c.post("/api/auth/login", json={"cpf": owner["cpf"],
                                                        "password": PASSWORD})).json()
    async with httpx.AsyncClient(timeout=10) as c:
        resp = await c.post(f"{s.lucrum.url}/api/bank-accounts", json={
            "bank_code": "341", "agency": "0001", "account_number": "99999-1"},
            headers={"Authorization": f"Bearer {token['access_token']}"})
        assert resp.status_code == 201, resp.text

    page = await new_page(browser)
    await login(page, portal, owner["cpf"])
    name = f"Bateria Limite {RUN_ID}"
    for attempt in (name, f"{name} 2"):
        await page.goto(f"{portal.url}/stocktech/produtos")
        await page.fill("#f-name", attempt)
        await page.select_option("#f-category_id", s.category_id)
        await page.select_option("#f-brand_id", s.brand_id)
        await page.fill("#f-price", "89,90")
        await page.fill("#f-stock_quantity", "3")
        await page.fill("#f-specifications", "Capacidade: 4000 mAh")
        await page.click("form[action='/stocktech/produtos'] button[type=submit]")
    # The second goes over the plan's one product: the API's sentence, at the top of the form.
    message = await page.inner_text("#form-error")
    assert "permite até 1 produtos ativos" in message, message
    assert "R$ 89,90" in await page.inner_text("main table")
    await shot(page, "my_products_limit")

    # A statement import, line by line.
    await page.goto(f"{portal.url}/lucrum/importar")
    await page.set_input_files("#f-file", files=[{
        "name": "extrato.csv", "mimeType": "text/csv",
        "buffer": b"data;descricao;valor\n01/11/2026;Pix recebido;150,00\n"
                  b"02/11/2026;Tarifa;-12,50\n03/11/2026;Sem valor;abc\n"}])
    await page.click("main button[type=submit]")
    result = await page.inner_text("#resultado-importacao")
    assert "2 importado(s)" in result and "1 recusado(s)" in result, result
    await shot(page, "import")
    await page.context.close()

    # Another company finds the product; an operator suspends the seller in the portal; the
    # product leaves the marketplace.
    other = await new_page(browser)
    await login(other, portal, viewer["cpf"])
    await other.goto(f"{portal.url}/marketplace?q={RUN_ID}+Limite")
    assert await other.locator("article.card", has_text=name).count() == 1

    ops = await new_page(browser)
    await ops.goto(f"{portal.url}/operador/entrar")
    await ops.fill("#f-email", OPERATOR[0])
    await ops.fill("#f-password", OPERATOR[1])
    await ops.click("main button[type=submit]")
    await ops.wait_for_url(re.compile(r".*/operador$"))
    await ops.fill("#f-q", f"Limitada {RUN_ID}")
    await ops.click("form.filters button[type=submit]")
    row = ops.locator(f"tr[data-company='Limitada {RUN_ID}']")
    await row.locator("button", has_text="Suspender").click()
    await ops.wait_for_url(re.compile(r".*ok=.*"))
    await ops.fill("#f-q", f"Limitada {RUN_ID}")
    await ops.click("form.filters button[type=submit]")
    assert "suspensa" in await ops.locator(f"tr[data-company='Limitada {RUN_ID}']").inner_text()
    await shot(ops, "operator")

    deadline = time.monotonic() + 10
    while await other.locator("article.card", has_text=name).count():
        assert time.monotonic() < deadline, "the suspended company's product is still listed"
        await asyncio.sleep(0.3)
        await other.reload()
    await ops.context.close()
    await other.context.close()
