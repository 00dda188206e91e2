from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

from avadmin.accounts.models import AccountStatus
from avadmin.plans.schemas import PlanOut
from avadmin.schemas_common import InputModel, ModuleList, Name100, OutputModel
from avelar_kit.br.types import CNPJ, WhatsApp


class AccountOut(OutputModel):
    id: uuid.UUID
    company_name: str
    cnpj: str
    whatsapp: str
    responsible_name: str
    enabled_modules: list[str]
    status: AccountStatus
    whatsapp_verified: bool
    created_at: datetime
    plan: PlanOut


class AccountUpdate(InputModel):
    company_name: Name100 | None = None
    cnpj: CNPJ | None = None
    whatsapp: WhatsApp | None = None
    responsible_name: Name100 | None = None
    enabled_modules: ModuleList | None = None


class PlanSummaryOut(BaseModel):
    id: uuid.UUID
    name: str
    max_products: int
    max_users: int
    max_transactions: int
    features: list[str]


class InternalAccountOut(BaseModel):
    """The seed's ``GET /api/accounts/{id}`` for the other modules."""

    id: uuid.UUID
    # Personal fields: null for a service client whose scope does not name them.
    company_name: str | None
    cnpj: str | None
    whatsapp: str | None
    enabled_modules: list[str]
    status: AccountStatus
    plan: PlanSummaryOut


class InternalPlanOut(BaseModel):
    """The seed's ``GET /api/accounts/{id}/plan``; ``status`` is the account's status."""

    id: uuid.UUID
    name: str
    max_products: int
    max_users: int
    max_transactions: int
    features: list[str]
    status: AccountStatus
