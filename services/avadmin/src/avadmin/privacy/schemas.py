from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, StringConstraints

from avadmin.schemas_common import InputModel

Reason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]


@dataclass(frozen=True)
class Actor:
    """Who asks: the person, a company admin (a user token) or a platform operator."""

    kind: str  # "user" | "operator"
    id: uuid.UUID
    account_id: uuid.UUID | None = None
    role: str | None = None

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.id}"

    @property
    def is_operator(self) -> bool:
        return self.kind == "operator"


class PrivacyRequest(InputModel):
    """``user_id`` is the person: omitted (or one's own) for oneself; an operator names the
    person who asked; a company admin names a user of the company (erasure only)."""

    user_id: uuid.UUID | None = None
    reason: Reason | None = None


class ExportOut(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID
    status: str
    modules_ready: list[str]
    missing: list[str]
    created_at: datetime
    completed_at: datetime | None
    expires_at: datetime
    download_url: str


class ErasureOut(BaseModel):
    user_id: uuid.UUID
    status: str = "erased"
    erased_at: datetime
    # The pseudonymous reference the fiscal and financial records keep.
    reference: str
