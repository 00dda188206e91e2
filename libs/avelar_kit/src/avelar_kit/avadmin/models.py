"""What the modules read from AvAdmin's internal API (see docs/avadmin-contract.md).

Unknown fields are ignored so that AvAdmin can add fields without breaking released clients
(tolerant reader); missing required fields fail loudly in the contract tests."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class _Tolerant(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class AvAdminUser(_Tolerant):
    id: uuid.UUID
    # Personal fields: null (or absent) unless this client's scope names them (issue 15).
    full_name: str | None = None
    cpf: str | None = None
    whatsapp: str | None = None
    account_id: uuid.UUID
    role: str
    is_active: bool
    # Tokens issued before this instant are refused (AvAdmin sets it on a password change).
    sessions_valid_after: datetime | None = None


class PlanSummary(_Tolerant):
    id: uuid.UUID | None = None
    name: str
    max_products: int
    max_users: int
    max_transactions: int | None = None
    # What the plan enables beyond the modules ("whatsapp", "reports", "api_access", ...).
    features: list[str] = Field(default_factory=list)


class AvAdminAccount(_Tolerant):
    id: uuid.UUID
    # Personal fields: null (or absent) unless this client's scope names them (issue 15).
    company_name: str | None = None
    cnpj: str | None = None
    whatsapp: str | None = None
    enabled_modules: list[str] = Field(default_factory=list)
    status: str
    plan: PlanSummary

    @property
    def is_active(self) -> bool:
        return self.status == "active"


class Standing(_Tolerant):
    """A user and their company as AvAdmin knows them: what a request's caller is checked
    against. Either is ``None`` when AvAdmin answered 404."""

    user: AvAdminUser | None
    account: AvAdminAccount | None


class AvAdminPlan(_Tolerant):
    id: uuid.UUID | None = None
    name: str
    max_products: int
    max_users: int
    max_transactions: int
    features: list[str] = Field(default_factory=list)
    status: str
