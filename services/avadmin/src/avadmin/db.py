"""AvAdmin's declarative base (its own metadata, the kit's naming convention)."""

from __future__ import annotations

import enum

from sqlalchemy import Enum
from sqlalchemy.orm import DeclarativeBase

from avelar_kit.db.base import make_metadata


class Base(DeclarativeBase):
    metadata = make_metadata()


def pg_enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(cls, name=name, values_callable=lambda e: [m.value for m in e],
                validate_strings=True)
