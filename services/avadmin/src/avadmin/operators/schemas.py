from __future__ import annotations

import uuid

from pydantic import BaseModel, Field

from avadmin.accounts.schemas import AccountOut
from avadmin.schemas_common import InputModel


class AccountPage(BaseModel):
    items: list[AccountOut]
    total: int
    limit: int
    offset: int


class StatusChange(InputModel):
    reason: str | None = Field(default=None, max_length=500)


class PlanChange(InputModel):
    plan_id: uuid.UUID
    # Skip the usage check (products, users, purchases over the new limits); needs a reason,
    # kept in the audit log.
    force: bool = False
    reason: str | None = Field(default=None, max_length=500)
