"""Dashboard, company data, the company's users (admins), plan and billing."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends
from starlette.responses import HTMLResponse, Response

from avelar_web.api import ApiError
from avelar_web.context import Page, get_page
from avelar_web.formatting import BRASILIA, parse_cnpj, parse_cpf, parse_phone
from avelar_web.pages import field_errors, local_error

router = APIRouter()


def _month_start() -> str:
    today = datetime.now(BRASILIA).date()
    return today.replace(day=1).isoformat()


@router.get("/painel")
async def dashboard(page: Page = Depends(get_page)) -> Response:
    page.require_user()
    account = await page.call("AvAdmin", "GET", "/api/accounts/me")
    notices: list[str] = []
    usage: list[dict[str, Any]] = []
    plan = account.get("plan") or {}
    users, note = await page.try_call("AvAdmin", "GET",
                                      f"/api/accounts/{account['id']}/users")
    if users is not None:
        items = users if isinstance(users, list) else users.get("items", [])
        usage.append({"label": "Usuários", "used": len([u for u in items if u.get("is_active",
                                                                               True)]),
                      "limit": plan.get("max_users")})
    recent: list[dict[str, Any]] = []
    if page.has("StockTech"):
        mine, note = await page.try_call("StockTech", "GET", "/api/products",
                                         params={"mine": "true", "page_size": 1})
        if mine is not None:
            usage.append({"label": "Produtos", "used": mine.get("total", 0),
                          "limit": plan.get("max_products")})
        bought, note2 = await page.try_call("StockTech", "GET", "/api/transactions",
                                            params={"role": "buyer", "page_size": 100})
        if bought is not None:
            month = _month_start()
            this_month = [t for t in bought.get("items", [])
                          if str(t.get("created_at", ""))[:10] >= month]
            usage.append({"label": "Compras no mês", "used": len(this_month),
                          "limit": plan.get("max_transactions")})
            recent.extend({"when": t["created_at"], "what": f"Compra {t['product_name']}",
                           "amount": t["total_amount"], "status": t["status"]}
                          for t in bought.get("items", [])[:5])
        notices += [n for n in (note, note2) if n]
    if page.has("Lucrum"):
        entries, note = await page.try_call("Lucrum", "GET", "/api/financial-transactions",
                                            params={"date_from": _month_start(),
                                                    "page_size": 200})
        if entries is not None:
            # The plan's monthly quota counts the entries posted by hand (not imports or sales).
            items = entries.get("items", [])
            usage.append({"label": "Lançamentos manuais no mês",
                          "used": len([e for e in items if e.get("source") == "manual"]),
                          "limit": plan.get("max_transactions")})
            recent.extend({"when": e["created_at"], "what": f"{e['code']} {e['description']}",
                           "amount": e["amount"], "status": e["type"]} for e in items[:5])
        elif note:
            notices.append(note)
    subscription, _ = await page.try_call("AvAdmin", "GET", "/api/billing/subscription") \
        if page.role == "admin" else (None, None)
    recent.sort(key=lambda r: str(r["when"]), reverse=True)
    return page.render("dashboard.html", account=account, usage=usage, recent=recent[:8],
                       notices=notices, subscription=subscription)


async def _company_page(page: Page, status_code: int = 200, **values: Any) -> Response:
    account = await page.call("AvAdmin", "GET", "/api/accounts/me")
    me = await page.call("AvAdmin", "GET", "/api/users/me")
    return page.render("company.html", status_code=status_code, account=account, me=me,
                       **values)


@router.get("/empresa")
async def company(page: Page = Depends(get_page)) -> Response:
    page.require_user()
    return await _company_page(page)


def _target(form: dict[str, str]) -> str:
    return "account" if form.get("target") == "account" else "user"


@router.post("/empresa/whatsapp")
async def whatsapp_start(page: Page = Depends(get_page)) -> Response:
    """A code to the company's number (admins) or one's own; a number typed replaces it."""
    page.require_user()
    form = await page.form()
    target = _target(form)
    errors: dict[str, str] = {}
    body: dict[str, Any] = {"target": target}
    typed = form.get(f"{target}.whatsapp", "").strip()
    if typed:
        body["whatsapp"] = local_error(errors, f"{target}.whatsapp", parse_phone, typed)
    if errors:
        return await _company_page(page, 422, errors=errors, error_target=target,
                                   error="Confira o número.", verify_form=form)
    try:
        sent = await page.call("AvAdmin", "POST", "/api/whatsapp/verify/start", json=body)
    except ApiError as exc:
        fields = {f"{target}.{k}": v for k, v in field_errors(exc).items()}
        return await _company_page(page, exc.status, errors=fields, error_target=target,
                                   error=exc.message, verify_form=form)
    return await _company_page(page, 202, verifying=target, sent=sent)


@router.post("/empresa/whatsapp/confirmar")
async def whatsapp_confirm(page: Page = Depends(get_page)) -> Response:
    page.require_user()
    form = await page.form()
    target = _target(form)
    code = form.get("code", "").strip()
    try:
        await page.call("AvAdmin", "POST", "/api/whatsapp/verify/confirm",
                        json={"target": target, "code": code})
    except ApiError as exc:
        return await _company_page(page, exc.status, verifying=target,
                                   errors={"code": exc.fields.get("code") or exc.message},
                                   error=exc.message, sent={})
    return page.redirect("/empresa", "WhatsApp verificado.")


@router.post("/empresa")
async def company_update(page: Page = Depends(get_page)) -> Response:
    page.require_user()
    form = await page.form()
    errors: dict[str, str] = {}
    body: dict[str, Any] = {}
    if form.get("company_name"):
        body["company_name"] = form["company_name"]
    if form.get("responsible_name"):
        body["responsible_name"] = form["responsible_name"]
    if form.get("cnpj"):
        body["cnpj"] = local_error(errors, "cnpj", parse_cnpj, form["cnpj"])
    if form.get("whatsapp"):
        body["whatsapp"] = local_error(errors, "whatsapp", parse_phone, form["whatsapp"])
    if not errors:
        try:
            await page.call("AvAdmin", "PATCH", "/api/accounts/me", json=body)
            return page.redirect("/empresa", "Dados da empresa atualizados.")
        except ApiError as exc:
            errors, message = field_errors(exc), exc.message
    else:
        message = "Confira os campos destacados."
    return await _company_page(page, 422, form=form, errors=errors, error=message)


async def _users_page(page: Page, status_code: int = 200, **values: Any) -> Response:
    account_id = page.claims.get("account_id")
    data = await page.call("AvAdmin", "GET", f"/api/accounts/{account_id}/users")
    users = data if isinstance(data, list) else data.get("items", [])
    return page.render("users.html", status_code=status_code, users=users, **values)


@router.get("/usuarios")
async def users(page: Page = Depends(get_page)) -> Response:
    page.require_user()
    return await _users_page(page)


@router.post("/usuarios")
async def invite(page: Page = Depends(get_page)) -> Response:
    page.require_user()
    form = await page.form()
    errors: dict[str, str] = {}
    cpf = local_error(errors, "cpf", parse_cpf, form.get("cpf", ""))
    phone = local_error(errors, "whatsapp", parse_phone, form.get("whatsapp", ""))
    if not errors:
        try:
            await page.call("AvAdmin", "POST",
                            f"/api/accounts/{page.claims.get('account_id')}/users",
                            json={"full_name": form.get("full_name", ""), "cpf": cpf,
                                  "whatsapp": phone, "password": form.get("password", ""),
                                  "role": form.get("role", "user")})
            return page.redirect("/usuarios", "Usuário criado.")
        except ApiError as exc:
            return await _users_page(page, exc.status, form=form, errors=field_errors(exc),
                                     error=exc.message)
    return await _users_page(page, 422, form=form, errors=errors,
                             error="Confira os campos destacados.")


@router.post("/usuarios/senha")
async def reset_user_password(page: Page = Depends(get_page)) -> Response:
    """An admin gives a user a temporary password; the user chooses a new one at next login."""
    page.require_user()
    form = await page.form()
    errors: dict[str, str] = {}
    cpf = local_error(errors, "reset.cpf", parse_cpf, form.get("reset.cpf", ""))
    if not form.get("reset.temporary_password"):
        errors["reset.temporary_password"] = "Informe a senha temporária"  # noqa: S105
    if not errors:
        try:
            await page.call("AvAdmin", "POST", "/api/users/password-reset", json={
                "cpf": cpf, "temporary_password": form["reset.temporary_password"]})
            return page.redirect("/usuarios", "Senha temporária definida: passe-a ao usuário, "
                                 "que escolherá a dele no próximo login.")
        except ApiError as exc:
            fields = {f"reset.{k}": v for k, v in field_errors(exc).items()}
            return await _users_page(page, exc.status, form=form, errors=fields,
                                     reset_error=exc.message)
    return await _users_page(page, 422, form=form, errors=errors,
                             reset_error="Confira os campos destacados.")


@router.post("/usuarios/{user_id}/{action}")
async def user_action(user_id: uuid.UUID, action: str, page: Page = Depends(get_page)
                      ) -> Response:
    page.require_user()
    form = await page.form()
    try:
        if action in ("deactivate", "activate"):
            await page.call("AvAdmin", "POST", f"/api/users/{user_id}/{action}")
        elif action == "role":
            await page.call("AvAdmin", "PATCH", f"/api/users/{user_id}",
                            json={"role": form.get("role", "user")})
        else:
            raise ApiError(404, "Ação desconhecida")
    except ApiError as exc:
        return await _users_page(page, exc.status, error=exc.message)
    return page.redirect("/usuarios", "Usuário atualizado.")


@router.get("/plano")
async def billing(page: Page = Depends(get_page)) -> Response:
    page.require_user()
    account = await page.call("AvAdmin", "GET", "/api/accounts/me")
    plans, _ = await page.try_call("AvAdmin", "GET", "/api/plans")
    subscription, notice = await page.try_call("AvAdmin", "GET", "/api/billing/subscription")
    history, _ = await page.try_call("AvAdmin", "GET", "/api/billing/transactions")
    items = history if isinstance(history, list) else (history or {}).get("items", [])
    return page.render("billing.html", account=account, plans=plans or [],
                       subscription=subscription, history=items, notice=notice)


@router.get("/plano/recibo/{tx_id}")
async def receipt(tx_id: uuid.UUID, page: Page = Depends(get_page)) -> Response:
    """The printable receipt AvAdmin renders for a paid transaction."""
    page.require_user()
    html = await page.call("AvAdmin", "GET", f"/api/billing/transactions/{tx_id}/receipt")
    return page.session.apply(HTMLResponse(str(html)))


@router.post("/plano/checkout")
async def checkout(page: Page = Depends(get_page)) -> Response:
    page.require_user()
    form = await page.form()
    key = form.get("idempotency_key") or uuid.uuid4().hex
    try:
        out = await page.call("AvAdmin", "POST", "/api/billing/checkout",
                              json={"plan_name": form.get("plan_name"),
                                    "cycle": form.get("cycle", "monthly"),
                                    "method": form.get("method", "pix")},
                              headers={"Idempotency-Key": key})
    except ApiError as exc:
        account = await page.call("AvAdmin", "GET", "/api/accounts/me")
        plans, _ = await page.try_call("AvAdmin", "GET", "/api/plans")
        # A plan the current usage exceeds: AvAdmin's sentence names what to reduce.
        return page.render("billing.html", status_code=exc.status, account=account,
                           plans=plans or [], subscription=None, history=[],
                           error=exc.message)
    return page.render("checkout.html", out=out)
