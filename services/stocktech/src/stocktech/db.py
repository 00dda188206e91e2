"""StockTech's declarative base (its own metadata, the kit's naming convention)."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from avelar_kit.db.base import make_metadata


class Base(DeclarativeBase):
    metadata = make_metadata()
