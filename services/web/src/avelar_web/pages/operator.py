"""Platform operators: login by e-mail, companies (search, suspend, reactivate, change plan),
plans and partner modules."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from avelar_web.api import ApiError, ModuleDown
from avelar_web.context import Page, get_page
from avelar_web.pages import field_errors
from avelar_web.pages.public import _safe_next

router = APIRouter(prefix="/operador")


@router.get("/entrar")
async def login_form(next: str = "", page: Page = Depends(get_page)) -> Response:
    return page.render("operator_login.html", next=_safe_next(next, "/operador"))


@router.post("/entrar")
async def login(page: Page = Depends(get_page)) -> Response:
    form = await page.form()
    target = _safe_next(form.get("next"), "/operador")
    try:
        out = await page.api.call("AvAdmin", "POST", "/api/operator/login",
                                  json={"email": form.get("email", ""),
                                        "password": form.get("password", "")})
    except ApiError as exc:
        return page.render("operator_login.html", status_code=exc.status,
                           form={"email": form.get("email")}, errors=field_errors(exc),
                           error=exc.message, next=target)
    except ModuleDown:
        return page.render("operator_login.html", status_code=503,
                           error="O login está indisponível no momento.", next=target)
    page.session.store_tokens(out["access_token"], None, kind="operator")
    return page.redirect(target)


@router.get("")
async def companies(request: Request, page: Page = Depends(get_page)) -> Response:
    page.require_operator()
    q = request.query_params
    data = await page.call("AvAdmin", "GET", "/api/operator/accounts",
                           params={"q": q.get("q") or None, "status": q.get("status") or None,
                                   "limit": 50})
    plans, _ = await page.try_call("AvAdmin", "GET", "/api/operator/plans")
    modules, _ = await page.try_call("AvAdmin", "GET", "/api/operator/modules")
    return page.render("operator.html", data=data, plans=plans or [], modules=modules or [],
                       filters=dict(q))


@router.post("/empresas/{account_id}/{action}")
async def company_action(account_id: uuid.UUID, action: str, page: Page = Depends(get_page)
                         ) -> Response:
    page.require_operator()
    form = await page.form()
    if action in ("suspend", "reactivate"):
        body = {"reason": form["reason"]} if form.get("reason") else None
        await page.call("AvAdmin", "POST", f"/api/operator/accounts/{account_id}/{action}",
                        json=body)
        done = "Empresa suspensa." if action == "suspend" else "Empresa reativada."
    elif action == "plano":
        await page.call("AvAdmin", "POST", f"/api/operator/accounts/{account_id}/plan",
                        json={"plan_id": form.get("plan_id")})
        done = "Plano alterado."
    else:
        raise ApiError(404, "Ação desconhecida")
    return page.redirect("/operador", done)
