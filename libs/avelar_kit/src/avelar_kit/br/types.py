"""Pydantic v2 field types for Brazilian documents and money.

Use them as plain annotations (``cpf: CPF``, ``total: PositiveMoney``); the stored value is the
normalized one (CPF 11 digits, CNPJ 14 upper-case characters, WhatsApp E.164, money ``Decimal``
with 2 places) whatever mask the client sent. Validation errors become pydantic ``ValidationError``
entries naming the field, with the Portuguese message of the underlying ``ValueError``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, GetCoreSchemaHandler, GetJsonSchemaHandler, WithJsonSchema
from pydantic_core import core_schema

from avelar_kit.br.cnpj import normalize_cnpj
from avelar_kit.br.cpf import normalize_cpf
from avelar_kit.br.money import format_brl, quantize_brl
from avelar_kit.br.phone import normalize_whatsapp

__all__ = [
    "CNPJ",
    "CPF",
    "MONEY_MAX_ABS",
    "Money",
    "MoneyRule",
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

# Plain decimal notation only, exactly as the OpenAPI pattern says (one rule in every module:
# the schema a client reads and the validator agree). Decimal() would also take "1e3", "1_000",
# "NaN", "+1.00" or " 1.00 "; an API that accepts those invites clients to send them and other
# parsers of the same payload to disagree.
def money_pattern(*, signed: bool = False, positive: bool = False,
                  integer_digits: int = 13) -> str:
    """The JSON Schema pattern (and the validator's regex) of an amount as a string: no sign
    but ``-`` (when ``signed``), no spaces, no leading zeros, at most 2 decimals, at most
    ``integer_digits`` before the point; ``positive`` excludes every spelling of zero."""
    top = integer_digits - 1
    if positive:
        body = (rf"(?:[1-9][0-9]{{0,{top}}}(?:\.[0-9]{{1,2}})?"
                r"|0\.(?:0[1-9]|[1-9][0-9]?))")
    else:
        body = rf"(?:0|[1-9][0-9]{{0,{top}}})(?:\.[0-9]{{1,2}})?"
    return f"^{'-?' if signed else ''}{body}$"


_LOOSE_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def _money_input(value: Any) -> Any:
    # JSON numbers with a fraction arrive here as float, already rounded to binary:
    # 0.1 + 0.2 style errors would be baked into the amount. Integers are exact.
    if isinstance(value, float):
        raise ValueError('valor monetário não pode ser float; use uma string, ex.: "10.50"')
    # bool is an int subclass; True as R$ 1,00 would only ever be a client bug.
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
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


@dataclass(frozen=True, slots=True)
class MoneyRule:
    """Annotation metadata for an amount (``Annotated[Decimal, MoneyRule(positive=True)]``):
    the OpenAPI pattern and the validator are the same rule (``money_pattern``); ``maximum``
    for columns narrower than NUMERIC(15,2). ``Money``, ``NonNegativeMoney`` and
    ``PositiveMoney`` are built with it."""

    signed: bool = False
    positive: bool = False
    integer_digits: int = 13
    maximum: Decimal | None = None

    @property
    def pattern(self) -> str:
        return money_pattern(signed=self.signed, positive=self.positive,
                             integer_digits=self.integer_digits)

    def _input(self, value: Any) -> Any:
        value = _money_input(value)
        if isinstance(value, str) and not re.fullmatch(self.pattern, value):
            if _LOOSE_NUMBER.fullmatch(value):
                self._after(Decimal(value))  # the specific reason, when there is one
            raise ValueError('valor monetário inválido; use uma string, ex.: "10.50" '
                             "(sem sinal +, espaços ou zeros à esquerda)")
        return value

    def _after(self, value: Decimal) -> Decimal:
        value = _money_value(value)
        if abs(value) >= Decimal(10) ** self.integer_digits:
            raise ValueError(f"valor monetário: no máximo {self.integer_digits} dígitos inteiros")
        if self.positive:
            value = _positive(value)
        elif not self.signed:
            value = _non_negative(value)
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"valor monetário deve ser no máximo {format_brl(self.maximum)}")
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler
                                     ) -> core_schema.CoreSchema:
        return core_schema.no_info_before_validator_function(
            self._input,
            core_schema.no_info_after_validator_function(self._after, handler(Decimal)),
            serialization=core_schema.plain_serializer_function_ser_schema(
                _money_to_json, return_schema=core_schema.str_schema(), when_used="json"),
        )

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema,
                                     handler: GetJsonSchemaHandler) -> dict[str, Any]:
        return {"type": "string", "pattern": self.pattern, "examples": ["10.50"]}


Money = Annotated[Decimal, MoneyRule(signed=True)]
NonNegativeMoney = Annotated[Decimal, MoneyRule()]
PositiveMoney = Annotated[Decimal, MoneyRule(positive=True)]
