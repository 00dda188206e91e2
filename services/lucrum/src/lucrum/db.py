"""Lucrum's declarative base (its own metadata, the kit's naming convention)."""

from __future__ import annotations

import enum
from decimal import Decimal

from sqlalchemy import Enum, Numeric
from sqlalchemy.orm import DeclarativeBase

from avelar_kit.db.base import make_metadata


class Base(DeclarativeBase):
    metadata = make_metadata()


# NUMERIC(15,2): 13 integer digits, the bound avelar_kit.br.MONEY_MAX_ABS validates against.
MONEY = Numeric(15, 2, asdecimal=True)
ZERO = Decimal("0.00")


def pg_enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(cls, name=name, values_callable=lambda e: [m.value for m in e],
                validate_strings=True)
