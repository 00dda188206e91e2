"""Money in responses that are sums rather than stored values."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import PlainSerializer, Strict, WithJsonSchema

from avelar_kit.br.money import quantize_brl


def _to_json(value: Decimal) -> str:
    return format(quantize_brl(value), "f")


# avelar_kit.br.Money refuses |value| >= 10^13 because it guards what fits a NUMERIC(15,2)
# column. A report total, a ledger sum or a balance at a past date is computed from many such
# values and can legitimately pass that bound; validating it with Money turned a large company's
# report into a 500. Output only: Strict keeps floats out all the same.
MoneyTotal = Annotated[
    Decimal,
    Strict(),
    PlainSerializer(_to_json, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": r"^-?[0-9]+\.[0-9]{2}$",
                    "examples": ["1234.56"]}),
]
