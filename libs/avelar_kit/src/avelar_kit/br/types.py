"""Pydantic v2 field types for Brazilian documents and money.

Use them as plain annotations (``cpf: CPF``, ``total: PositiveMoney``); the stored value is the
normalized one (CPF 11 digits, CNPJ 14 upper-case characters, WhatsApp E.164, money ``Decimal``
with 2 places) whatever mask the client sent. Validation errors become pydantic ``ValidationError``
entries naming the field, with the Portuguese message of the underlying ``ValueError``.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, PlainSerializer, WithJsonSchema

from avelar_kit.br.cnpj import normalize_cnpj
from avelar_kit.br.cpf import normalize_cpf
from avelar_kit.br.money import quantize_brl
from avelar_kit.br.phone import normalize_whatsapp

__all__ = [
    "CNPJ",
    "CPF",
    "MONEY_MAX_ABS",
    "Money",
    "NonNegativeMoney",
    "PositiveMoney",
    "WhatsApp",
]

CPF = Annotated[
    str,
    AfterValidator(normalize_cpf),
    WithJsonSchema({"type": "string", "examples": ["529.982.247-25"]}),
]
CNPJ = Annotated[
    str,
    AfterValidator(normalize_cnpj),
    WithJsonSchema({"type": "string", "examples": ["11.222.333/0001-81", "12.ABC.345/01DE-35"]}),
]
WhatsApp = Annotated[
    str,
    AfterValidator(normalize_whatsapp),
    WithJsonSchema({"type": "string", "examples": ["+5511987654321"]}),
]

# Money columns are NUMERIC(15,2): 13 integer digits + 2 decimals, so |amount| < 10**13.
MONEY_MAX_ABS = Decimal(10) ** 13

# Plain decimal notation only. Decimal() would also take "1e3", "1_000" or "NaN"; an API that
# accepts those invites clients to send them and other parsers of the same payload to disagree.
_MONEY_STR_RE = re.compile(r"\s*[-+]?[0-9]+(?:\.[0-9]+)?\s*")


def _money_input(value: Any) -> Any:
    # JSON numbers with a fraction arrive here as float, already rounded to binary: 0.1 + 0.2
    # style errors would be baked into the amount. Integers are exact, so they are accepted.
    if isinstance(value, float):
        raise ValueError('valor monetário não pode ser float; use uma string, ex.: "10.50"')
    # bool is an int subclass; True as R$ 1,00 would only ever be a client bug. Anything else
    # that is not str/int/Decimal is refused here so the message never suggests sending a float.
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ValueError('valor monetário inválido; use uma string, ex.: "10.50"')
    if isinstance(value, str) and not _MONEY_STR_RE.fullmatch(value):
        raise ValueError('valor monetário inválido; use uma string, ex.: "10.50"')
    return value


def _money_value(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("valor monetário deve ser um número finito")
    if abs(value) >= MONEY_MAX_ABS:
        raise ValueError("valor monetário deve ser menor que 10.000.000.000.000 em valor absoluto")
    quantized = quantize_brl(value)
    # Compared numerically, so "10.500" passes while "10.505" is refused instead of rounded:
    # rounding on input would silently change what the client asked for.
    if quantized != value:
        raise ValueError("valor monetário deve ter no máximo 2 casas decimais")
    return quantized


def _non_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError("valor monetário não pode ser negativo")
    return value


def _positive(value: Decimal) -> Decimal:
    if value <= 0:
        raise ValueError("valor monetário deve ser maior que zero")
    return value


def _money_to_json(value: Decimal) -> str:
    # Quantized again because a value set without validation (model_construct, assignment
    # without validate_assignment) may be Decimal("10"), which must still serialize as "10.00".
    return format(quantize_brl(value), "f")


_MONEY_BEFORE = BeforeValidator(_money_input)
_MONEY_AFTER = AfterValidator(_money_value)
_MONEY_JSON = PlainSerializer(_money_to_json, return_type=str, when_used="json")


def _money_schema(pattern: str, example: str) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "pattern": pattern, "examples": [example]})


Money = Annotated[
    Decimal,
    _MONEY_BEFORE,
    _MONEY_AFTER,
    _MONEY_JSON,
    _money_schema(r"^-?[0-9]{1,13}(\.[0-9]{1,2})?$", "10.50"),
]
NonNegativeMoney = Annotated[
    Decimal,
    _MONEY_BEFORE,
    _MONEY_AFTER,
    AfterValidator(_non_negative),
    _MONEY_JSON,
    _money_schema(r"^[0-9]{1,13}(\.[0-9]{1,2})?$", "10.50"),
]
PositiveMoney = Annotated[
    Decimal,
    _MONEY_BEFORE,
    _MONEY_AFTER,
    AfterValidator(_positive),
    _MONEY_JSON,
    _money_schema(r"^[0-9]{1,13}(\.[0-9]{1,2})?$", "10.50"),
]
