from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from lucrum.categories.models import CategoryKind
from lucrum.text import NoControlChars

CategoryName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                                max_length=50), NoControlChars]


class CategoryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: CategoryName
    kind: CategoryKind


class CategoryUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: CategoryName | None = None
    is_active: bool | None = None


class CategoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    kind: CategoryKind
    is_active: bool
    created_at: datetime
