"""The templates AvelarSys sends, as approved at Meta (names, pt_BR, parameter order). The
stand-in (``avelar_standins.whatsapp.TEMPLATES``) registers the same ones with their text."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from avadmin.messaging.port import TemplateMessage
from avelar_kit.br.money import format_brl

LANGUAGE = "pt_BR"

AUTH_CODE = "avelar_codigo"
SIGNUP_ATTEMPT = "avelar_cadastro_tentativa"
NEW_PURCHASE = "avelar_nova_compra"
PURCHASE_COMPLETED = "avelar_compra_concluida"
PURCHASE_CANCELLED = "avelar_compra_cancelada"
PAYMENT_FAILED = "avelar_pagamento_falhou"
SUSPENSION_UPCOMING = "avelar_suspensao_proxima"
PASSWORD_RESET_BY_ADMIN = "avelar_senha_redefinida"  # noqa: S105 (a template name)


def _body(*values: str) -> dict[str, object]:
    return {"type": "body", "parameters": [{"type": "text", "text": v[:1024]} for v in values]}


def auth_code(code: str) -> TemplateMessage:
    """Authentication template with a copy-code button: the code goes in the body parameter and
    in the button's (``sub_type: url``, index 0) parameter, as the Cloud API requires."""
    return TemplateMessage(AUTH_CODE, LANGUAGE, [
        _body(code),
        {"type": "button", "sub_type": "url", "index": "0",
         "parameters": [{"type": "text", "text": code}]},
    ])


def signup_attempt(document: str) -> TemplateMessage:
    """To the registered owner when someone signs up with their CPF or CNPJ."""
    return TemplateMessage(SIGNUP_ATTEMPT, LANGUAGE, [_body(document)])


def new_purchase(*, product: str, code: str, quantity: int, buyer: str, total: Decimal,
                 link: str) -> TemplateMessage:
    return TemplateMessage(NEW_PURCHASE, LANGUAGE, [
        _body(product, code, str(quantity), buyer, format_brl(total), link)])


def purchase_completed(*, product: str, code: str, quantity: int, seller: str,
                       total: Decimal) -> TemplateMessage:
    return TemplateMessage(PURCHASE_COMPLETED, LANGUAGE, [
        _body(product, code, str(quantity), seller, format_brl(total))])


def purchase_cancelled(*, product: str, code: str, quantity: int, seller: str,
                       total: Decimal) -> TemplateMessage:
    return TemplateMessage(PURCHASE_CANCELLED, LANGUAGE, [
        _body(product, code, str(quantity), seller, format_brl(total))])


def payment_failed(*, plan: str, company: str, amount: Decimal) -> TemplateMessage:
    return TemplateMessage(PAYMENT_FAILED, LANGUAGE, [_body(plan, company, format_brl(amount))])


def suspension_upcoming(*, company: str, on: date) -> TemplateMessage:
    return TemplateMessage(SUSPENSION_UPCOMING, LANGUAGE,
                           [_body(company, on.strftime("%d/%m/%Y"))])


def password_reset_by_admin(*, first_name: str) -> TemplateMessage:
    return TemplateMessage(PASSWORD_RESET_BY_ADMIN, LANGUAGE, [_body(first_name)])
