"""Platform operators: login by e-mail, companies (search, suspend, reactivate, change plan),
plans and partner modules."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from avelar_web.api import ApiError, ModuleDown
from avelar_web.context import Page, get_page
from avelar_web.formatting import parse_money
from avelar_web.pages import field_errors, local_error
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
    return await _companies_page(request, page)


async def _companies_page(request: Request, page: Page, status_code: int = 200,
                          **values: object) -> Response:
    q = request.query_params
    data = await page.call("AvAdmin", "GET", "/api/operator/accounts",
                           params={"q": q.get("q") or None, "status": q.get("status") or None,
                                   "limit": 50})
    plans, _ = await page.try_call("AvAdmin", "GET", "/api/operator/plans")
    modules, _ = await page.try_call("AvAdmin", "GET", "/api/operator/modules")
    return page.render("operator.html", status_code=status_code, data=data,
                       plans=plans or [], modules=modules or [], filters=dict(q), **values)


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


KINDS = {"categorias": ("/api/categories", "Categoria"), "marcas": ("/api/brands", "Marca")}


async def _catalog_page(page: Page, status_code: int = 200, **values: object) -> Response:
    """StockTech's categories and brands (the platform's, managed by operators)."""
    categories = await page.call("StockTech", "GET", "/api/categories")
    brands = await page.call("StockTech", "GET", "/api/brands")
    return page.render("operator_catalog.html", status_code=status_code,
                       categories=categories, brands=brands, **values)


@router.get("/catalogo")
async def catalog(page: Page = Depends(get_page)) -> Response:
    page.require_operator()
    return await _catalog_page(page)


@router.post("/catalogo/{kind}")
async def catalog_create(kind: str, page: Page = Depends(get_page)) -> Response:
    page.require_operator()
    if kind not in KINDS:
        raise ApiError(404, "Página não encontrada")
    path, label = KINDS[kind]
    form = await page.form()
    try:
        await page.call("StockTech", "POST", path, json={"name": form.get(f"{kind}.name", "")})
    except ApiError as exc:
        errors = {f"{kind}.{k}": v for k, v in field_errors(exc).items()}
        return await _catalog_page(page, exc.status, form=form, errors=errors,
                                   error=exc.message, error_kind=kind)
    return page.redirect("/operador/catalogo", f"{label} criada.")


@router.post("/catalogo/{kind}/{item_id}/desativar")
async def catalog_deactivate(kind: str, item_id: uuid.UUID, page: Page = Depends(get_page)
                             ) -> Response:
    """Out of the lists companies choose from (StockTech lists only the active ones)."""
    page.require_operator()
    if kind not in KINDS:
        raise ApiError(404, "Página não encontrada")
    path, label = KINDS[kind]
    await page.call("StockTech", "PATCH", f"{path}/{item_id}", json={"is_active": False})
    return page.redirect("/operador/catalogo", f"{label} desativada.")


FEATURES = ("whatsapp", "reports", "api_access", "priority_support", "custom_modules")
PLAN_MODULES = ("StockTech", "Lucrum")


def _count(form: dict[str, str], name: str, errors: dict[str, str]) -> int | None:
    try:
        return int(form.get(name, "").strip())
    except ValueError:
        errors[name] = "Informe um número inteiro"
        return None


@router.post("/planos")
async def create_plan(request: Request, page: Page = Depends(get_page)) -> Response:
    """A new plan on sale: price, limits, the modules and features it enables."""
    page.require_operator()
    data = await request.form()
    form = {k: v for k, v in data.items() if isinstance(v, str)}
    errors: dict[str, str] = {}
    price = local_error(errors, "plan.price", parse_money, form.get("plan.price", ""))
    limits = {k: _count(form, f"plan.{k}", errors)
              for k in ("max_products", "max_users", "max_transactions")}
    if not errors:
        body = {"name": form.get("plan.name", ""), "price": str(price),
                "billing_cycle": form.get("plan.billing_cycle", "monthly"), **limits,
                "modules": [m for m in data.getlist("plan.modules") if m in PLAN_MODULES],
                "features": [f for f in data.getlist("plan.features") if f in FEATURES]}
        try:
            await page.call("AvAdmin", "POST", "/api/operator/plans", json=body)
            return page.redirect("/operador", f"Plano {body['name']} criado.")
        except ApiError as exc:
            errors = {f"plan.{k}": v for k, v in field_errors(exc).items()}
            message = exc.message
    else:
        message = "Confira os campos destacados."
    return await _companies_page(request, page, 422, form=form, errors=errors,
                                 plan_error=message)
