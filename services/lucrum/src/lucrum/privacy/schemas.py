from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel


class PersonalDataOut(BaseModel):
    """One module's part of a person's export: every field it holds about the person."""

    module: str
    user_id: uuid.UUID
    data: dict[str, Any]
