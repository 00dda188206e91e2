from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from avadmin.schemas_common import InputModel, OutputModel


class ModuleOut(OutputModel):
    name: str
    description: str | None
    is_active: bool
    created_at: datetime


class ModuleCreate(InputModel):
    name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_-]{1,49}$")]
    description: str | None = Field(default=None, max_length=500)
