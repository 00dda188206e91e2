"""Issue 14 in a real browser: headless Chromium (Debian's ``chromium``, driven by Playwright
for Python; ``make chromium`` installs it) against the whole system started the way `make run`
starts it: ``avelar-devstack run`` (``make run``'s own code path: embedded PostgreSQL and Redis,
migrations, AvAdmin, StockTech, Lucrum, the portal, the MercadoPago and WhatsApp stand-ins, the
demo seed and the modules' credentials) in a temporary home on free ports, once per session
and shared by every test here. Operators are made with ``./avelar avadmin create-operator``, as
the README says. Skipped when /usr/bin/chromium is missing.

Each browser context (and each API call the tests make themselves) comes from an address of
its own in ``X-Forwarded-For``, as people behind the production proxy do: AvAdmin's limits per
client address (signups, logins, codes) then count each test person, not the whole suite.

Screenshots of the pages land in ``test-artifacts/portal/`` (not committed), desktop and
360 px wide."""

from __future__ import annotations

import asyncio
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import ROOT, RUN_ID, free_port, new_cnpj, new_cpf, new_whatsapp, read_code

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
ARTIFACTS = ROOT / "test-artifacts" / "portal"
PASSWORD = "senhaSegura123"
OPERATOR = (f"portal-{RUN_ID}@avelarsys.test", "operador-senha-forte-123")
UP = "Ctrl-C stops everything."
# Settings of the caller that would change what make run starts (its own databases, the real
# MercadoPago or WhatsApp): left out, as on a fresh clone.
FOREIGN = ("AVADMIN_", "STOCKTECH_", "LUCRUM_", "WEB_", "MERCADOPAGO_", "WHATSAPP_", "TEST_")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium (make chromium)"),
]


def person() -> str:
    """An address of its own for one person (a browser context, or the tests' API calls)."""
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


def free_base() -> int:
    from avelar_devstack.cli import PORT_OFFSETS, free_port_base

    base = free_port_base(random.randrange(20000, 32000 - max(PORT_OFFSETS)) for _ in range(100))
    if base is None:
        raise RuntimeError("no free port base")
    return base


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if not k.startswith(FOREIGN) and k not in ("DATABASE_URL", "REDIS_URL")}


@dataclass
class MakeRun:
    """``avelar-devstack run --home H --port-base B``: what `make run` runs, in a temp home."""

    home: Path
    base: int
    proc: subprocess.Popen[bytes] | None = None
    category_id: str = ""
    brand_id: str = ""
    extra: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def log(self) -> Path:
        return self.home.parent / "make-run.log"

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(  # noqa: S603 (our own CLI)
                [sys.executable, "-m", "avelar_devstack.cli", "run", "--home", str(self.home),
                 "--port-base", str(self.base)], stdout=out, stderr=subprocess.STDOUT,
                env=clean_env(), cwd=ROOT)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_up(self, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while UP not in self.output():
            assert self.proc is not None and self.proc.poll() is None, self.output()[-3000:]
            assert time.monotonic() < deadline, self.output()[-3000:]
            time.sleep(0.2)

    def stop(self) -> None:
        for proc in self.extra:
            proc.terminate()
            proc.wait(15)
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)  # Ctrl-C: make run stops every module
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def printed(self, pattern: str) -> str:
        """The first group of ``pattern`` in what make run printed."""
        match = re.search(pattern, self.output())
        assert match, (pattern, self.output()[-2000:])
        return match.group(1)

    def avelar(self, *args: str, stdin: str | None = None) -> str:
        """``./avelar MODULE COMMAND ...``: a module's CLI with the running stack's settings."""
        out = subprocess.run(  # noqa: S603 (our own CLI)
            [sys.executable, "-m", "avelar_devstack.launch", *args],
            env={**clean_env(), "AVELAR_HOME": str(self.home), "AVELAR_ROOT": str(ROOT)},
            input=stdin.encode() if stdin else None, capture_output=True, check=True,
            timeout=120, cwd=ROOT)
        return out.stdout.decode()

    def url_at(self, offset: int) -> str:
        return f"http://127.0.0.1:{self.base + offset}"

    @property
    def avadmin_url(self) -> str:
        return self.url_at(0)

    @property
    def stocktech_url(self) -> str:
        return self.url_at(1)

    @property
    def lucrum_url(self) -> str:
        return self.url_at(2)

    @property
    def whatsapp_url(self) -> str:
        """The WhatsApp stand-in's inbox, as make run prints it."""
        return self.printed(r"WhatsApp \(local stand-in\) (http://\S+?)/? ")

    @property
    def mercadopago_url(self) -> str:
        """The MercadoPago stand-in's page, where make run says to approve payments."""
        return self.printed(r"MercadoPago \(local stand-in\) (http://\S+?)/? ")

    @property
    def url(self) -> str:
        """The portal, the first URL make run prints."""
        return self.printed(r"Portal\s+(http://\S+?)/? ")


@dataclass
class Portal:
    url: str
    stack: MakeRun


def _operator_headers(stack: MakeRun) -> dict[str, str]:
    login = httpx.post(f"{stack.avadmin_url}/api/operator/login", timeout=10,
                       json={"email": OPERATOR[0], "password": OPERATOR[1]},
                       headers={"X-Forwarded-For": person()})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


@pytest.fixture(scope="session")
def make_run() -> Iterator[MakeRun]:
    # PORTAL_E2E_MAKE_RUN="HOME:BASE" reuses a running `avelar-devstack run --home HOME
    # --port-base BASE` whose output goes to HOME/../make-run.log (while working on a test).
    attached = os.environ.get("PORTAL_E2E_MAKE_RUN", "")
    if attached:
        home, _, base = attached.rpartition(":")
        stack = MakeRun(Path(home), int(base))
    else:
        # Not under pytest's basetemp: the embedded PostgreSQL runs as its own system user and
        # needs to traverse the folders above its data, and any pytest starting on the machine
        # makes /tmp/pytest-of-<user> private again (0700).
        tmp = Path(tempfile.mkdtemp(prefix="avelar-portal-e2e-"))
        stack = MakeRun(tmp / "avelar", free_base())
        stack.start()
    try:
        if stack.proc is not None:
            stack.wait_up()
        stack.avelar("avadmin", "create-operator", "--email", OPERATOR[0], "--name",
                     "Operadora Portal", "--password-stdin", stdin=OPERATOR[1] + "\n")
        ops = _operator_headers(stack)
        ids = []
        for path, name in (("/api/categories", f"Peças {RUN_ID}"),
                           ("/api/brands", f"Marca {RUN_ID}")):
            resp = httpx.post(f"{stack.stocktech_url}{path}", json={"name": name},
                              headers=ops, timeout=10)
            assert resp.status_code == 201, resp.text
            ids.append(resp.json()["id"])
        stack.category_id, stack.brand_id = ids
        yield stack
    finally:
        stack.stop()
        # Kept for whoever reads a failure (once every test of the suite found the WhatsApp
        # stand-in's port closed, and the stack's log went with its temporary folder).
        if stack.log.exists():
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shutil.copy(stack.log, ARTIFACTS / "make-run.log")
        if not attached:
            shutil.rmtree(stack.home.parent, ignore_errors=True)


@pytest.fixture(scope="session")
def portal(make_run: MakeRun) -> Portal:
    return Portal(make_run.url, make_run)


@pytest.fixture(scope="session")
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
                                        locale="pt-BR", bypass_csp=axe,
                                        extra_http_headers={"X-Forwarded-For": person()})
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


def company(name: str, plan: str = "Empresa") -> dict[str, Any]:
    """A company to sign up over AvAdmin's API; its admin's CPF, number and password."""
    cpf, number = new_cpf(), new_whatsapp()
    body = {"company": {"company_name": name, "cnpj": new_cnpj(), "whatsapp": number,
                        "responsible_name": "Bia Vendas"},
            "admin": {"full_name": "Bia Vendas", "cpf": cpf, "whatsapp": number,
                      "password": PASSWORD}, "plan_name": plan}
    return {"cpf": cpf, "whatsapp": number, "body": body}


async def signed_up(stack: MakeRun, who: dict[str, Any]) -> dict[str, Any]:
    """Signup as a person does it, from an address of its own: ask, read the code on WhatsApp
    (the stand-in's inbox), confirm; then the admin's tokens."""
    headers = {"X-Forwarded-For": person()}
    async with httpx.AsyncClient(base_url=stack.avadmin_url, timeout=10,
                                 headers=headers) as c:
        started = await c.post("/api/auth/signup", json=who["body"])
        assert started.status_code == 202, started.text
        code = await read_code(stack.whatsapp_url, who["whatsapp"])
        done = await c.post("/api/auth/signup/confirm",
                            json={"signup_id": started.json()["signup_id"], "code": code})
    assert done.status_code == 201, done.text
    return dict(done.json())


async def api(stack: MakeRun, method: str, url: str, token: str, **kwargs: Any
              ) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as c:
        return await c.request(method, url, headers={"Authorization": f"Bearer {token}",
                                                     "X-Forwarded-For": person()}, **kwargs)


async def small_plan(stack: MakeRun, name: str, **limits: Any) -> dict[str, Any]:
    spec = {"name": f"{name} {uuid.uuid4().hex[:6]}", "price": "49.90", "max_products": 1,
            "max_users": 3, "max_transactions": 100, "features": ["whatsapp"],
            "modules": ["StockTech", "Lucrum"], **limits}
    async with httpx.AsyncClient(timeout=10) as c:
        resp = await c.post(f"{stack.avadmin_url}/api/operator/plans", json=spec,
                            headers=_operator_headers(stack))
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


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
    token = await signed_up(s, seller)
    product_name = f"Tela OLED {RUN_ID}"
    resp = await api(s, "POST", f"{s.stocktech_url}/api/products", token["access_token"],
                     json={"name": product_name, "category_id": s.category_id,
                           "brand_id": s.brand_id, "price": "1234.56", "stock_quantity": 5,
                           "specifications": {"Tamanho": "6,1 pol"}})
    assert resp.status_code == 201, resp.text
    account = await api(s, "POST", f"{s.lucrum_url}/api/bank-accounts", token["access_token"],
                        json={"bank_code": "001", "agency": "0001",
                              "account_number": "1000-1"})
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
    await shot(page, "signup")
    await page.click("main button[type=submit]")
    assert await page.inner_text("#e-company-cnpj") == "CNPJ inválido"
    await page.fill("#f-company-cnpj", new_cnpj())
    await page.fill("#f-admin-password", PASSWORD)
    await page.fill("#f-password2", PASSWORD)
    await page.click("main button[type=submit]")
    # The code sent to the admin's WhatsApp (the stand-in's inbox) confirms the signup.
    await page.wait_for_selector("#f-code")
    await shot(page, "signup_confirm")
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
    await signed_up(portal.stack, owner)
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
    # The plan's monthly quota of manual entries, as a bar on the dashboard.
    await page.goto(f"{portal.url}/painel")
    assert re.search(r"Lançamentos manuais no mês: 1 de \d+", await page.inner_text("main"))

    await page.goto(f"{portal.url}/lucrum/transferencias")
    await shot(page, "transfers")
    await page.goto(f"{portal.url}/lucrum/fluxo")
    await page.wait_for_selector("#cash-flow-chart[data-ready='1']")
    assert "R$ 1.234,56" in await page.inner_text("main table")
    await shot(page, "cash_flow")
    await page.context.close()


async def test_a_user_role_sees_no_admin_actions_and_csrf_and_logout(
    portal: Portal, browser: Any
) -> None:
    s = portal.stack
    owner = company(f"Papéis {RUN_ID}")
    token = (await signed_up(s, owner))["access_token"]
    # What only admins may delete: a product off the marketplace, a manual entry.
    made = await api(s, "POST", f"{s.stocktech_url}/api/products", token, json={
        "name": f"Capa Papéis {RUN_ID}", "category_id": s.category_id, "brand_id": s.brand_id,
        "price": "19.90", "stock_quantity": 2})
    assert made.status_code == 201, made.text
    bank = await api(s, "POST", f"{s.lucrum_url}/api/bank-accounts", token, json={
        "bank_code": "104", "agency": "0003", "account_number": "3000-3"})
    assert bank.status_code == 201, bank.text
    entry = await api(s, "POST", f"{s.lucrum_url}/api/financial-transactions", token, json={
        "bank_account_id": bank.json()["id"], "description": f"Aluguel {RUN_ID}",
        "amount": "800.00", "type": "expense"})
    assert entry.status_code == 201, entry.text
    product_id, entry_id = made.json()["id"], entry.json()["id"]
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
    await admin.goto(f"{portal.url}/stocktech/produtos")
    assert await admin.locator("button[data-action='deactivate']").count() == 1
    await admin.goto(f"{portal.url}/lucrum/lancamentos")
    assert await admin.locator("button[data-action='delete-entry']").count() == 1

    user = await new_page(browser)
    await login(user, portal, user_cpf)
    assert await user.locator("nav a[href='/usuarios']").count() == 0
    assert await user.locator("nav a[href='/plano']").count() == 0
    await user.goto(f"{portal.url}/lucrum")
    assert await user.locator("form[action='/lucrum/contas']").count() == 0
    await user.goto(f"{portal.url}/stocktech/produtos")
    assert f"Capa Papéis {RUN_ID}" in await user.inner_text("main table")
    assert await user.locator("button[data-action='deactivate']").count() == 0
    await shot(user, "my_products_user_role")
    await user.goto(f"{portal.url}/lucrum/lancamentos")
    assert f"Aluguel {RUN_ID}" in await user.inner_text("#lancamentos")
    assert await user.locator("button[data-action='delete-entry']").count() == 0
    # The same POSTs the admin's buttons send, forged with the user's valid CSRF token: the
    # modules refuse them and the person reads a sentence, not a stack trace or JSON.
    csrf = await user.locator("input[name=csrf]").first.input_value()
    for path in (f"/stocktech/produtos/{product_id}/desativar",
                 f"/lucrum/lancamentos/{entry_id}/excluir"):
        forged = await user.request.post(f"{portal.url}{path}", form={"csrf": csrf})
        assert forged.status == 403, (path, forged.status)
        body = await forged.text()
        assert "Somente administradores da empresa podem fazer isto" in body, body[-800:]
        assert "Traceback" not in body and '"code"' not in body
    await user.goto(f"{portal.url}/lucrum/lancamentos")
    assert f"Aluguel {RUN_ID}" in await user.inner_text("#lancamentos")
    await user.goto(f"{portal.url}/stocktech/produtos")
    assert "no marketplace" in await user.locator(
        "tr", has_text=f"Capa Papéis {RUN_ID}").inner_text()

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
    await signed_up(portal.stack, owner)
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
                 "/lucrum", "/lucrum/lancamentos", "/lucrum/transferencias", "/lucrum/fluxo",
                 "/lucrum/importar", "/empresa", "/usuarios", "/plano", "/conta/senha"):
        await page.goto(f"{portal.url}{path}")
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 362, (path, width)
        await shot(page, "phone_" + path.strip("/").replace("/", "_"))
        found[path] = await serious_violations(page)
    # The public pages too, logged out.
    await page.click("nav form[action='/sair'] button")
    for path in ("/", "/entrar", "/cadastro", "/senha/esqueci", "/operador/entrar"):
        await page.goto(f"{portal.url}{path}")
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 362, (path, width)
        await shot(page, "phone_public_" + (path.strip("/").replace("/", "_") or "landing"))
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
    token = await signed_up(s, owner)
    await signed_up(s, viewer)
    resp = await api(s, "POST", f"{s.lucrum_url}/api/bank-accounts", token["access_token"],
                     json={"bank_code": "341", "agency": "0001", "account_number": "99999-1"})
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
    # Its photos (https addresses) and specifications are edited on its own page.
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text)
            if "Content Security Policy" in m.text else None)
    await page.locator("tr", has_text=name).locator("a", has_text="Editar").click()
    await page.wait_for_url(re.compile(r".*/stocktech/produtos/[0-9a-f-]+$"))
    await page.fill("#f-images", "https://cdn.example.com/bateria-frente.jpg")
    await page.fill("#f-specifications", "Capacidade: 4000 mAh\nGarantia: 90 dias")
    await shot(page, "product_edit")
    await page.click("main form button[type=submit]")
    await page.wait_for_url(re.compile(r".*/stocktech/produtos\?ok=.*"))
    await page.locator("tr", has_text=name).locator("a", has_text="Editar").click()
    assert "Garantia: 90 dias" in await page.input_value("#f-specifications")
    product_path = page.url.replace("/stocktech/produtos/", "/marketplace/")
    await page.goto(product_path)
    assert "90 dias" in await page.inner_text("main dl")
    photo = page.locator("main .gallery img")
    assert await photo.get_attribute("src") == "https://cdn.example.com/bateria-frente.jpg"
    assert not refused, refused  # the CSP lets the seller's https photo load

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

    ops = await new_page(browser, axe=True)
    await ops.goto(f"{portal.url}/operador/entrar")
    await shot(ops, "operator_login")
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
    violations = {"/operador": await serious_violations(ops)}

    # The marketplace's categories and brands are the operators' too.
    await ops.goto(f"{portal.url}/operador/catalogo")
    await ops.click("form[action='/operador/catalogo/categorias'] button[type=submit]")
    assert await ops.inner_text("#e-categorias-name"), await ops.inner_text("main")
    await ops.fill("#f-categorias-name", f"Películas {RUN_ID}")
    await ops.click("form[action='/operador/catalogo/categorias'] button[type=submit]")
    await ops.wait_for_url(re.compile(r".*/operador/catalogo\?ok=.*"))
    assert await ops.locator(f"#categorias li[data-name='Películas {RUN_ID}']").count() == 1
    await shot(ops, "operator_catalog")
    violations["/operador/catalogo"] = await serious_violations(ops)

    # A new plan on sale, from the operators' page: then on the landing page with its price.
    plan_name = f"Balcão {RUN_ID}"
    await ops.goto(f"{portal.url}/operador")
    await ops.click("summary:has-text('Novo plano')")
    await ops.fill("#f-plan-name", plan_name)
    await ops.fill("#f-plan-price", "abc")
    await ops.fill("#f-plan-max_products", "30")
    await ops.fill("#f-plan-max_users", "2")
    await ops.fill("#f-plan-max_transactions", "150")
    await ops.click("form[action='/operador/planos'] button[type=submit]")
    assert "Valor inválido" in await ops.inner_text("#e-plan-price")
    await ops.fill("#f-plan-price", "59,90")
    await ops.click("form[action='/operador/planos'] button[type=submit]")
    await ops.wait_for_url(re.compile(r".*/operador\?ok=.*"))
    assert "R$ 59,90" in await ops.locator(f"#planos li[data-plan='{plan_name}']").inner_text()
    await ops.goto(f"{portal.url}/")
    assert "R$ 59,90" in await ops.locator("article.plan", has_text=plan_name).inner_text()
    assert not {p: v for p, v in violations.items() if v}, violations

    deadline = time.monotonic() + 10
    while await other.locator("article.card", has_text=name).count():
        assert time.monotonic() < deadline, "the suspended company's product is still listed"
        await asyncio.sleep(0.3)
        await other.reload()
    await ops.context.close()
    await other.context.close()


async def test_a_forgotten_password_is_reset_with_the_code_sent_to_whatsapp(
    portal: Portal, browser: Any
) -> None:
    s = portal.stack
    who = company(f"Esquecida {RUN_ID}")
    await signed_up(s, who)
    page = await new_page(browser)
    await page.goto(f"{portal.url}/entrar")
    await shot(page, "login")
    await page.click("main a[href='/senha/esqueci']")
    await page.wait_for_url(re.compile(r".*/senha/esqueci$"))
    await page.fill("#f-cpf", who["cpf"])
    await shot(page, "password_forgot")
    await page.click("main button[type=submit]")
    await page.wait_for_selector("#f-code")
    # The signup's code was the first one to this number; the recovery code is the next.
    code = await read_code(s.whatsapp_url, who["whatsapp"], after=1)
    await page.fill("#f-code", code)
    await page.fill("#f-new_password", "novaSenha2026")
    await page.fill("#f-password2", "outraSenha2026")
    await page.click("main button[type=submit]")
    assert await page.inner_text("#e-password2") == "As senhas não conferem"
    assert await page.input_value("#f-code") == code  # what was typed stays
    await page.fill("#f-new_password", "novaSenha2026")
    await page.fill("#f-password2", "novaSenha2026")
    await shot(page, "password_reset")
    await page.click("main button[type=submit]")
    await page.wait_for_url(re.compile(r".*/entrar\?ok=.*"))
    assert "Senha redefinida" in await page.inner_text("main")
    # The old password no longer opens the account (a sentence at the top of the form).
    await page.fill("#f-cpf", who["cpf"])
    await page.fill("#f-password", PASSWORD)
    await page.click("main button[type=submit]")
    assert "CPF ou senha incorretos" in await page.inner_text("#form-error")
    # By keyboard alone: the first Tab reaches the skip link, drawn with a visible focus
    # ring; the fields are typed into and Enter sends the form.
    await page.goto(f"{portal.url}/entrar")
    await page.keyboard.press("Tab")
    focused = await page.evaluate(
        "(() => { const e = document.activeElement; const s = getComputedStyle(e);"
        " return [e.textContent.trim(), s.outlineStyle, s.outlineWidth]; })()")
    assert focused[0] == "Pular para o conteúdo" and focused[1] != "none", focused
    await page.keyboard.press("Enter")  # to the content: the next Tab is its first field
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.id") == "f-cpf"
    await page.keyboard.type(who["cpf"])
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.id") == "f-password"
    await page.keyboard.type("novaSenha2026")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r".*/painel"))
    await page.context.close()


async def test_whatsapp_numbers_are_verified_by_code_and_passwords_are_changed(
    portal: Portal, browser: Any
) -> None:
    s = portal.stack
    owner = company(f"Verificada {RUN_ID}")
    await signed_up(s, owner)
    admin = await new_page(browser)
    await login(admin, portal, owner["cpf"])
    await admin.goto(f"{portal.url}/empresa")
    card = admin.locator("#verificar-account")
    assert "não verificado" not in await card.inner_text()  # confirmed at signup
    # A new number for the company: not verified until the code sent to it comes back.
    number = new_whatsapp()
    await admin.fill("#f-account-whatsapp", number[3:])
    await card.locator("button[type=submit]").click()
    await admin.wait_for_selector("#verificar-account #f-code")
    assert "não verificado" in await admin.inner_text("#verificar-account header")
    await shot(admin, "company_verify")
    code = await read_code(s.whatsapp_url, number)
    wrong = "000000" if code != "000000" else "111111"
    await admin.fill("#f-code", wrong)
    await admin.click("#verificar-account button[type=submit]")
    assert await admin.inner_text("#e-code") == "código inválido"
    await admin.fill("#f-code", code)
    await admin.click("#verificar-account button[type=submit]")
    await admin.wait_for_url(re.compile(r".*/empresa\?ok=.*"))
    header = await admin.inner_text("#verificar-account header")
    assert f"({number[3:5]}) {number[5:10]}-{number[10:]}" in header, header
    assert "não verificado" not in header and "verificado" in header
    await shot(admin, "company")

    # The admin adds a user, whose number nobody has confirmed yet.
    user_cpf, user_number = new_cpf(), new_whatsapp()
    await admin.goto(f"{portal.url}/usuarios")
    await admin.fill("#f-full_name", "Lia Estoque")
    await admin.fill("#f-cpf", user_cpf)
    await admin.fill("#f-whatsapp", user_number[3:])
    await admin.fill("#f-password", PASSWORD)
    await admin.click("form[action='/usuarios'] button[type=submit]")
    await admin.wait_for_url(re.compile(r".*/usuarios\?ok=.*"))

    user = await new_page(browser)
    await login(user, portal, user_cpf)
    await user.goto(f"{portal.url}/empresa")
    assert await user.locator("#verificar-account").count() == 0  # the company's: admins
    assert "não verificado" in await user.inner_text("#verificar-user header")
    await user.click("#verificar-user button[type=submit]")
    await user.wait_for_selector("#verificar-user #f-code")
    await user.fill("#f-code", await read_code(s.whatsapp_url, user_number))
    await user.click("#verificar-user button[type=submit]")
    await user.wait_for_url(re.compile(r".*/empresa\?ok=.*"))
    assert "não verificado" not in await user.inner_text("#verificar-user header")

    # The admin gives the user a temporary password: the user's session ends, and the next
    # login asks for a password of the user's own.
    await admin.goto(f"{portal.url}/usuarios")
    await admin.select_option("#f-reset-cpf", user_cpf)
    await admin.fill("#f-reset-temporary_password", "temporaria2026")
    await admin.click("form[action='/usuarios/senha'] button[type=submit]")
    await admin.wait_for_url(re.compile(r".*/usuarios\?ok=.*"))
    await shot(admin, "users_reset")
    await user.context.clear_cookies()
    await user.goto(f"{portal.url}/entrar")
    await user.fill("#f-cpf", user_cpf)
    await user.fill("#f-password", "temporaria2026")
    await user.click("main button[type=submit]")
    await user.wait_for_selector("#f-current_password")
    await user.fill("#f-current_password", "temporaria2026")
    await user.fill("#f-new_password", "minhaSenha2026")
    await user.fill("#f-password2", "minhaSenha2026")
    await user.click("main button[type=submit]")
    await user.wait_for_url(re.compile(r".*/painel.*"))

    # Logged in, the user changes it again: a wrong current password is named at its field.
    await user.goto(f"{portal.url}/conta/senha")
    await user.fill("#f-current_password", "naoEhEssa2026")
    await user.fill("#f-new_password", "outraSenha2026")
    await user.fill("#f-password2", "outraSenha2026")
    await user.click("main button[type=submit]")
    assert await user.inner_text("#e-current_password") == "Senha atual incorreta"
    assert "/conta/senha" in user.url  # still logged in: not sent to the login page
    await shot(user, "password_change")
    await user.fill("#f-current_password", "minhaSenha2026")
    await user.fill("#f-new_password", "outraSenha2026")
    await user.fill("#f-password2", "outraSenha2026")
    await user.click("main button[type=submit]")
    await user.wait_for_url(re.compile(r".*/painel\?ok=.*"))
    await user.goto(f"{portal.url}/stocktech/transacoes")  # the session goes on
    assert user.url.endswith("/stocktech/transacoes")
    await user.click("nav form[action='/sair'] button")
    await user.wait_for_url(re.compile(r".*/entrar.*"))
    await login(user, portal, user_cpf, "outraSenha2026")
    await user.context.close()
    await admin.context.close()


async def test_a_plan_paid_by_pix_at_the_mercadopago_standin_shows_as_paid(
    portal: Portal, browser: Any
) -> None:
    s = portal.stack
    owner = company(f"Pagadora {RUN_ID}")
    await signed_up(s, owner)
    page = await new_page(browser)
    await login(page, portal, owner["cpf"])
    await page.goto(f"{portal.url}/plano")
    await shot(page, "billing")
    await page.locator("article.plan", has_text="Corporativo").locator(
        "button[value='pix']").click()
    await page.wait_for_url(re.compile(r".*/plano/checkout"))
    payment = (await page.inner_text("#mp-id")).strip()
    assert "R$ 699,90" in await page.inner_text("main")
    assert (await page.input_value("#pix-code")).strip()
    await shot(page, "checkout_pix")
    # The payer approves it where make run says to: the MercadoPago stand-in's page.
    mp = await page.context.new_page()
    await mp.goto(f"{s.mercadopago_url}/")
    await mp.locator("tr", has_text=payment).locator("button", has_text="approve").click()
    await mp.wait_for_load_state()
    assert "approved" in await mp.locator("tr", has_text=payment).inner_text()
    await mp.close()
    # The signed webhook reaches AvAdmin: the portal shows the plan paid. The page reads the
    # subscription, then the history: a payment applied between the two reads shows "pago" in
    # the history above the old plan, so both are waited for (one fresh page shows both).
    deadline = time.monotonic() + 20
    while True:
        await page.goto(f"{portal.url}/plano")
        if (await page.locator("td.billing-status[data-status='paid']").count()
                and "Corporativo" in await page.inner_text("dl.facts")):
            break
        assert time.monotonic() < deadline, await page.inner_text("main")
        await asyncio.sleep(0.3)
    facts = await page.inner_text("dl.facts")
    assert "Corporativo" in facts and "ativa" in facts, facts
    assert re.search(r"Pago até\s+\d{2}/\d{2}/\d{4}", facts), facts
    history = await page.inner_text("main table")
    assert "R$ 699,90" in history and "pago" in history and "Pix" in history, history
    await shot(page, "billing_paid")
    await page.click("main table a:has-text('recibo')")
    assert "699,90" in await page.inner_text("body")
    await page.goto(f"{portal.url}/painel")
    assert "Plano Corporativo" in await page.inner_text("main")
    await page.context.close()


async def test_too_many_attempts_say_when_to_try_again(portal: Portal, browser: Any) -> None:
    owner = company(f"Tentativas {RUN_ID}")
    await signed_up(portal.stack, owner)
    # Wrong passwords for one CPF from one address: then a 429 that says when to try again.
    page = await new_page(browser)
    await page.goto(f"{portal.url}/entrar")
    message = ""
    for _ in range(8):
        await page.fill("#f-cpf", owner["cpf"])
        await page.fill("#f-password", "senhaErrada999")
        await page.click("main button[type=submit]")
        message = await page.inner_text("#form-error")
        if "Muitas tentativas" in message:
            break
    assert re.fullmatch(r"Muitas tentativas\. Tente novamente em \d+ segundos\.", message), \
        message
    await shot(page, "login_429")
    await page.context.close()


async def test_an_expired_session_returns_to_login_then_to_the_page(
    portal: Portal, browser: Any
) -> None:
    s = portal.stack
    owner = company(f"Expirada {RUN_ID}")
    await signed_up(s, owner)
    page = await new_page(browser)
    await login(page, portal, owner["cpf"])
    await page.goto(f"{portal.url}/lucrum/fluxo?group_by=category")
    # The session expires: the browser drops the access cookie (its max-age is the token's
    # life) and the refresh token no longer works (ended here at AvAdmin).
    refresh = next(c["value"] for c in await page.context.cookies()
                   if c["name"] == "avw_refresh")
    async with httpx.AsyncClient(timeout=10) as c:
        gone = await c.post(f"{s.avadmin_url}/api/auth/logout",
                            json={"refresh_token": refresh})
        assert gone.status_code == 204, gone.text
    await page.context.clear_cookies(name="avw_access")
    await page.goto(f"{portal.url}/lucrum/fluxo?group_by=category")
    await page.wait_for_url(re.compile(r".*/entrar\?next=.*"))
    await page.fill("#f-cpf", owner["cpf"])
    await page.fill("#f-password", PASSWORD)
    await page.click("main button[type=submit]")
    await page.wait_for_url(re.compile(r".*/lucrum/fluxo\?group_by=category$"))
    assert "Categoria" in await page.inner_text("main table thead")
    await page.context.close()


@pytest.fixture
def lucrum_down(make_run: MakeRun) -> Iterator[Portal]:
    """A second portal over the same stack whose Lucrum address does not answer."""
    port = free_port()
    env = {**clean_env(), "WEB_AVADMIN_URL": make_run.avadmin_url,
           "WEB_STOCKTECH_URL": make_run.stocktech_url,
           "WEB_LUCRUM_URL": f"http://127.0.0.1:{free_port()}", "WEB_LOG_LEVEL": "WARNING"}
    with (make_run.home.parent / "web-lucrum-down.log").open("ab") as log:
        proc = subprocess.Popen(  # noqa: S603 (our own CLI)
            [sys.executable, "-m", "avelar_web.cli", "serve", "--host", "127.0.0.1",
             "--port", str(port), "--no-access-log"], env=env, stdout=log, stderr=log, cwd=ROOT)
    make_run.extra.append(proc)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/health/live", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        assert httpx.get(f"{url}/health", timeout=5).json()["modules"] == {
            "AvAdmin": "up", "StockTech": "up", "Lucrum": "down"}
        yield Portal(url, make_run)
    finally:
        proc.terminate()
        proc.wait(15)
        make_run.extra.remove(proc)


async def test_a_module_down_is_a_notice_on_its_pages_and_the_rest_works(
    lucrum_down: Portal, browser: Any
) -> None:
    owner = company(f"Sem Lucrum {RUN_ID}")
    await signed_up(lucrum_down.stack, owner)
    page = await new_page(browser)
    await login(page, lucrum_down, owner["cpf"])
    main = await page.inner_text("main")
    assert "O Lucrum está indisponível no momento" in main, main
    assert "Produtos:" in main  # StockTech's part of the dashboard is there
    await shot(page, "dashboard_lucrum_down")
    resp = await page.goto(f"{lucrum_down.url}/lucrum/lancamentos")
    assert resp.status == 503
    assert "Lucrum indisponível" in await page.inner_text("main h1")
    assert "O restante do portal continua funcionando" in await page.inner_text("main")
    resp = await page.goto(f"{lucrum_down.url}/marketplace")
    assert resp.status == 200
    assert "produto(s)" in await page.inner_text("main")
    await page.context.close()
