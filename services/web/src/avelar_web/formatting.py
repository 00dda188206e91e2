"""pt-BR display and input for the portal: money as ``R$ 1.234,56`` (typed as ``1.234,56`` or
``1234.56``), dates as ``dd/mm/aaaa``, CPF and CNPJ (numeric and alphanumeric) with their masks,
WhatsApp numbers as ``(11) 99999-9999``. Validation is the kit's (``avelar_kit.br``)."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from avelar_kit.br.cnpj import format_cnpj, is_valid_cnpj, normalize_cnpj
from avelar_kit.br.cpf import format_cpf, is_valid_cpf, normalize_cpf
from avelar_kit.br.money import format_brl, parse_brl_amount
from avelar_kit.br.phone import normalize_whatsapp

BRASILIA = ZoneInfo("America/Sao_Paulo")
_DATE_BR = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")


def money(value: Any) -> str:
    """``"1234.56"`` (an API's JSON string), Decimal or int -> ``"R$ 1.234,56"``."""
    if value is None or value == "":
        return ""
    try:
        return format_brl(Decimal(str(value)))
    except (InvalidOperation, ValueError, TypeError):
        return str(value)


def parse_money(text: str) -> Decimal:
    """What a person types in an amount field: ``"1.234,56"``, ``"1234,56"``, ``"1234.56"``,
    ``"R$ 1.234,56"``. ``ValueError`` with a Portuguese message otherwise."""
    cleaned = (text or "").strip()
    if not cleaned:
        raise ValueError("Informe o valor")
    try:
        return parse_brl_amount(cleaned)
    except ValueError:
        raise ValueError("Valor inválido: use 1.234,56 ou 1234.56") from None


def money_input(value: Any) -> str:
    """An amount as the portal's fields show it for editing: ``"1.234,56"`` without ``R$``."""
    text = money(value)
    return text.removeprefix("-").removeprefix("R$ ") if text else ""


def br_date(value: Any) -> str:
    """``"2026-12-01"`` / date / ISO datetime (shown in Brasília time) -> ``"01/12/2026"``."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    else:
        text = str(value)
        try:
            if len(text) == 10:
                return date.fromisoformat(text).strftime("%d/%m/%Y")
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return text
    if moment.tzinfo is not None:
        moment = moment.astimezone(BRASILIA)
    return moment.strftime("%d/%m/%Y")


def br_datetime(value: Any) -> str:
    """An ISO datetime -> ``"01/12/2026 14:05"`` in Brasília time."""
    if not value:
        return ""
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(
            str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(BRASILIA)
    return moment.strftime("%d/%m/%Y %H:%M")


def parse_date(text: str) -> date | None:
    """``"01/12/2026"`` or ``"2026-12-01"`` (a date input's value) -> date; blank -> None."""
    cleaned = (text or "").strip()
    if not cleaned:
        return None
    match = _DATE_BR.fullmatch(cleaned)
    try:
        if match:
            day, month, year = (int(g) for g in match.groups())
            return date(year, month, day)
        return date.fromisoformat(cleaned)
    except ValueError:
        raise ValueError("Data inválida: use dd/mm/aaaa") from None


def cpf(value: Any) -> str:
    """Digits (or an already masked CPF) -> ``"123.456.789-09"``."""
    if not value:
        return ""
    try:
        return format_cpf(normalize_cpf(str(value)))
    except ValueError:
        return str(value)


def parse_cpf(text: str) -> str:
    """A CPF typed with or without its mask -> 11 digits; ``ValueError`` when invalid."""
    try:
        digits = normalize_cpf((text or "").strip())
    except ValueError:
        raise ValueError("CPF inválido") from None
    if not is_valid_cpf(digits):
        raise ValueError("CPF inválido")
    return digits


def cnpj(value: Any) -> str:
    """14 characters (numeric or alphanumeric) -> ``"12.ABC.345/01DE-35"``."""
    if not value:
        return ""
    try:
        return format_cnpj(str(value))
    except ValueError:
        return str(value)


def parse_cnpj(text: str) -> str:
    """A CNPJ typed with or without its mask, numeric or alphanumeric -> its 14 characters."""
    try:
        value = normalize_cnpj((text or "").strip())
    except ValueError:
        raise ValueError("CNPJ inválido") from None
    if not is_valid_cnpj(value):
        raise ValueError("CNPJ inválido")
    return value


def phone(value: Any) -> str:
    """``"+5511999998888"`` -> ``"(11) 99999-8888"`` (national form, as people write it)."""
    if not value:
        return ""
    text = str(value)
    try:
        e164 = normalize_whatsapp(text)
    except ValueError:
        return text
    national = e164.removeprefix("+55")
    ddd, number = national[:2], national[2:]
    return f"({ddd}) {number[:-4]}-{number[-4:]}"


def parse_phone(text: str) -> str:
    """A Brazilian mobile typed as ``(11) 99999-8888``, ``11999998888`` or ``+55 ...`` -> E.164."""
    try:
        return normalize_whatsapp((text or "").strip())
    except ValueError as exc:
        raise ValueError(str(exc)) from None


def count(value: Any) -> str:
    """A whole number as people read it in Brazil: ``5000`` -> ``"5.000"``; anything else as
    it came (a plan limit that is absent stays absent)."""
    if value is None or value == "" or isinstance(value, bool):
        return "" if value is None else str(value)
    try:
        return f"{int(value):,}".replace(",", ".")
    except (ValueError, TypeError):
        return str(value)


def percent(used: int | None, limit: int | None) -> int:
    """Usage bar width, 0..100 (no limit: 0; a limit of 0 allows nothing: full when used)."""
    if limit is None:
        return 0
    if limit <= 0:
        return 100 if used else 0
    return max(0, min(100, round((used or 0) * 100 / limit)))


FILTERS = {"count": count, "money": money, "money_input": money_input, "br_date": br_date,
           "br_datetime": br_datetime, "cpf": cpf, "cnpj": cnpj, "phone": phone}
