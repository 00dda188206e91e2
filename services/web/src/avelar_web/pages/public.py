"""Landing with the plans, signup, login by CPF, logout."""

from __future__ import annotations

import contextlib
from typing import Any

from fastapi import APIRouter, Depends
from starlette.responses import Response

from avelar_web.api import ApiError, ModuleDown
from avelar_web.context import Page, get_page
from avelar_web.formatting import parse_cnpj, parse_cpf, parse_phone
from avelar_web.pages import field_errors, local_error

router = APIRouter()


def _safe_next(value: str | None, default: str = "/painel") -> str:
    """Only a path of this site (no scheme, no //host): the login's return address."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default


async def _plans(page: Page) -> tuple[list[dict[str, Any]], str | None]:
    data, notice = await page.try_call("AvAdmin", "GET", "/api/plans")
    plans = data if isinstance(data, list) else (data or {}).get("items", []) if data else []
    return plans, notice


@router.get("/")
async def landing(page: Page = Depends(get_page)) -> Response:
    plans, notice = await _plans(page)
    return page.render("landing.html", plans=plans, notice=notice)


@router.get("/privacidade")
async def privacy(page: Page = Depends(get_page)) -> Response:
    """The privacy notice: what is held, where, why and for how long (docs/privacy.md)."""
    return page.render("privacy.html")


@router.get("/cadastro")
async def signup_form(plano: str = "", page: Page = Depends(get_page)) -> Response:
    plans, notice = await _plans(page)
    return page.render("signup.html", plans=plans, notice=notice, form={"plan_name": plano})


@router.post("/cadastro")
async def signup(page: Page = Depends(get_page)) -> Response:
    form = await page.form()
    errors: dict[str, str] = {}
    cnpj = local_error(errors, "company.cnpj", parse_cnpj, form.get("company.cnpj", ""))
    company_phone = local_error(errors, "company.whatsapp", parse_phone,
                                form.get("company.whatsapp", ""))
    cpf = local_error(errors, "admin.cpf", parse_cpf, form.get("admin.cpf", ""))
    admin_phone = local_error(errors, "admin.whatsapp", parse_phone,
                              form.get("admin.whatsapp", "") or form.get("company.whatsapp", ""))
    if form.get("admin.password", "") != form.get("password2", ""):
        errors["password2"] = "As senhas não conferem"
    if not errors:
        body = {"company": {"company_name": form.get("company.company_name", ""),
                            "cnpj": cnpj, "whatsapp": company_phone,
                            "responsible_name": form.get("admin.full_name", "")},
                "admin": {"full_name": form.get("admin.full_name", ""), "cpf": cpf,
                          "whatsapp": admin_phone, "password": form.get("admin.password", "")},
                "plan_name": form.get("plan_name", "")}
        try:
            out = await page.api.call("AvAdmin", "POST", "/api/auth/signup", json=body)
        except ApiError as exc:
            plans, _ = await _plans(page)
            return page.render("signup.html", status_code=exc.status, plans=plans, form=form,
                               errors=field_errors(exc, {"plan_id": "plan_name"}),
                               error=exc.message)
        # Nothing is created yet: the code sent to the admin's WhatsApp confirms it (issue 12).
        return page.render("signup_confirm.html", status_code=202,
                           signup_id=out["signup_id"], whatsapp=out["whatsapp"], form={},
                           errors={})
    plans, _ = await _plans(page)
    return page.render("signup.html", status_code=422, plans=plans, form=form, errors=errors,
                       error="Confira os campos destacados.")


@router.post("/cadastro/confirmar")
async def signup_confirm(page: Page = Depends(get_page)) -> Response:
    form = await page.form()
    signup_id, code = form.get("signup_id", ""), form.get("code", "").strip()
    try:
        out = await page.api.call("AvAdmin", "POST", "/api/auth/signup/confirm",
                                  json={"signup_id": signup_id, "code": code})
    except ApiError as exc:
        return page.render("signup_confirm.html", status_code=exc.status, signup_id=signup_id,
                           whatsapp="informado", form={"code": code},
                           errors=field_errors(exc), error=exc.message)
    page.session.store_tokens(out["access_token"], out["refresh_token"])
    return page.redirect("/painel", "Empresa cadastrada. Bem-vindo ao AvelarSys!")


@router.get("/entrar")
async def login_form(next: str = "", page: Page = Depends(get_page)) -> Response:
    if page.session.logged_in and not page.session.is_operator:
        return page.redirect(_safe_next(next))
    return page.render("login.html", next=_safe_next(next))


@router.post("/entrar")
async def login(page: Page = Depends(get_page)) -> Response:
    form = await page.form()
    target = _safe_next(form.get("next"))
    errors: dict[str, str] = {}
    cpf = local_error(errors, "cpf", parse_cpf, form.get("cpf", ""))
    if not form.get("password"):
        errors["password"] = "Informe a senha"  # noqa: S105 (a message)
    if errors:
        return page.render("login.html", status_code=422, form=form, errors=errors,
                           next=target)
    try:
        pair = await page.api.call("AvAdmin", "POST", "/api/auth/login",
                                   json={"cpf": cpf, "password": form["password"]})
    except ApiError as exc:
        if exc.code == "password_change_required":  # an admin set a temporary password
            return page.render("password_change_required.html", status_code=403,
                               form={"cpf": form.get("cpf")}, next=target)
        return page.render("login.html", status_code=exc.status, form={"cpf": form.get("cpf")},
                           errors=field_errors(exc), error=exc.message, next=target)
    except ModuleDown:
        return page.render("login.html", status_code=503, form={"cpf": form.get("cpf")},
                           error="O login está indisponível no momento; tente em instantes.",
                           next=target)
    page.session.store_tokens(pair["access_token"], pair["refresh_token"])
    return page.redirect(target)


@router.post("/sair")
async def logout(page: Page = Depends(get_page)) -> Response:
    if page.session.refresh and page.session.kind == "user":
        # The cookies go anyway; a refresh token AvAdmin did not hear of expires by itself.
        with contextlib.suppress(ApiError, ModuleDown):
            await page.api.call("AvAdmin", "POST", "/api/auth/logout",
                                json={"refresh_token": page.session.refresh})
    page.session.clear()
    return page.redirect("/entrar", "Você saiu do AvelarSys.")
