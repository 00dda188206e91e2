"""Passwords: forgotten (a code to the WhatsApp, then a new password), the change an admin's
reset asks for at the next login, and a logged-in person changing their own."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.responses import Response

from avelar_web.api import ApiError, ModuleDown
from avelar_web.context import Page, get_page
from avelar_web.formatting import cpf as show_cpf
from avelar_web.formatting import parse_cpf
from avelar_web.pages import field_errors, local_error
from avelar_web.pages.public import _safe_next

router = APIRouter()
DOWN = "O AvAdmin está indisponível no momento; tente em instantes."
MISMATCH = "As senhas não conferem"


def _new_password(form: dict[str, str], errors: dict[str, str]) -> str:
    new = form.get("new_password", "")
    if not new:
        errors["new_password"] = "Informe a nova senha"  # noqa: S105 (a message)
    elif new != form.get("password2", ""):
        errors["password2"] = MISMATCH
    return new


@router.get("/senha/esqueci")
async def forgot_form(page: Page = Depends(get_page)) -> Response:
    return page.render("password_forgot.html")


@router.post("/senha/esqueci")
async def forgot(page: Page = Depends(get_page)) -> Response:
    """A code goes to the person's verified WhatsApp; the same answer for any CPF."""
    form = await page.form()
    errors: dict[str, str] = {}
    cpf = local_error(errors, "cpf", parse_cpf, form.get("cpf", ""))
    if errors:
        return page.render("password_forgot.html", status_code=422, form=form, errors=errors)
    try:
        out = await page.api.call("AvAdmin", "POST", "/api/auth/password/forgot",
                                  json={"cpf": cpf})
    except ApiError as exc:
        return page.render("password_forgot.html", status_code=exc.status, form=form,
                           errors=field_errors(exc), error=exc.message)
    except ModuleDown:
        return page.render("password_forgot.html", status_code=503, form=form, error=DOWN)
    return page.render("password_reset.html", status_code=202, detail=out.get("detail"),
                       form={"cpf": show_cpf(cpf)})


@router.post("/senha/redefinir")
async def reset(page: Page = Depends(get_page)) -> Response:
    form = await page.form()
    errors: dict[str, str] = {}
    cpf = local_error(errors, "cpf", parse_cpf, form.get("cpf", ""))
    code = form.get("code", "").strip()
    if not code:
        errors["code"] = "Informe o código recebido no WhatsApp"
    new = _new_password(form, errors)
    if not errors:
        try:
            await page.api.call("AvAdmin", "POST", "/api/auth/password/reset",
                                json={"cpf": cpf, "code": code, "new_password": new})
            return page.redirect("/entrar", "Senha redefinida. Entre com a nova senha.")
        except ApiError as exc:
            errors, message = field_errors(exc), exc.message
        except ModuleDown:
            message = DOWN
    else:
        message = "Confira os campos destacados."
    return page.render("password_reset.html", status_code=422,
                       form={"cpf": form.get("cpf", ""), "code": code}, errors=errors,
                       error=message)


@router.post("/senha/trocar")
async def change_required(page: Page = Depends(get_page)) -> Response:
    """After an admin set a temporary password: the temporary one and a new one, then in."""
    form = await page.form()
    target = _safe_next(form.get("next"))
    errors: dict[str, str] = {}
    cpf = local_error(errors, "cpf", parse_cpf, form.get("cpf", ""))
    if not form.get("current_password"):
        errors["current_password"] = "Informe a senha temporária"  # noqa: S105 (a message)
    new = _new_password(form, errors)
    if not errors:
        try:
            pair = await page.api.call("AvAdmin", "POST", "/api/auth/password/change", json={
                "cpf": cpf, "current_password": form["current_password"],
                "new_password": new})
            page.session.store_tokens(pair["access_token"], pair["refresh_token"])
            return page.redirect(target, "Senha definida.")
        except ApiError as exc:
            errors, message = field_errors(exc), exc.message
        except ModuleDown:
            message = DOWN
    else:
        message = "Confira os campos destacados."
    return page.render("password_change_required.html", status_code=422,
                       form={"cpf": form.get("cpf", "")}, errors=errors, error=message,
                       next=target)


@router.get("/conta/senha")
async def change_form(page: Page = Depends(get_page)) -> Response:
    page.require_user()
    return page.render("password_change.html")


@router.post("/conta/senha")
async def change(page: Page = Depends(get_page)) -> Response:
    """One's own password. AvAdmin then ends every session of the person, this one too: the
    portal logs in again with the new password, so the person stays on the site."""
    page.require_user()
    form = await page.form()
    errors: dict[str, str] = {}
    if not form.get("current_password"):
        errors["current_password"] = "Informe a senha atual"  # noqa: S105 (a message)
    new = _new_password(form, errors)
    if errors:
        return page.render("password_change.html", status_code=422, errors=errors,
                           error="Confira os campos destacados.")
    me = await page.call("AvAdmin", "GET", "/api/users/me")
    try:
        # Not page.call: a wrong current password is a 401 about the field, not the session.
        await page.api.call("AvAdmin", "POST", "/api/users/me/password", token=page.token,
                            json={"current_password": form["current_password"],
                                  "new_password": new})
    except ApiError as exc:
        wrong = exc.code == "invalid_credentials"
        errors = {"current_password": exc.detail} if wrong else field_errors(
            exc, {"new_password": "new_password"})
        return page.render("password_change.html", status_code=422 if wrong else exc.status,
                           errors=errors, error=exc.message)
    pair = await page.api.call("AvAdmin", "POST", "/api/auth/login",
                               json={"cpf": me["cpf"], "password": new})
    page.session.store_tokens(pair["access_token"], pair["refresh_token"])
    return page.redirect("/painel", "Senha alterada. As outras sessões foram encerradas.")
