from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import Field, StringConstraints

from avadmin.plans.models import BillingCycle
from avadmin.schemas_common import InputModel, ModuleList, OutputModel
from avelar_kit.br.types import Money, NonNegativeMoney

# plans.price is NUMERIC(10,2): a bigger price is refused here, naming the field, and not by the
# database.
PRICE_MAX = Decimal("99999999.99")
Price = Annotated[NonNegativeMoney, Field(le=PRICE_MAX)]

Feature = Annotated[str, StringConstraints(min_length=1, max_length=50, pattern=r"^[a-z0-9_]+$")]


class PlanOut(OutputModel):
    id: uuid.UUID
    name: str
    price: Money
    billing_cycle: BillingCycle
    max_products: int
    max_users: int
    max_transactions: int
    features: list[str]
    modules: list[str]
    is_active: bool
    created_at: datetime


class PlanCreate(InputModel):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=50)]
    price: Price
    billing_cycle: BillingCycle = BillingCycle.monthly
    max_products: int = Field(ge=0, le=10_000_000)
    max_users: int = Field(ge=1, le=100_000)
    max_transactions: int = Field(ge=0, le=100_000_000)
    features: list[Feature] = Field(default_factory=list, max_length=50)
    modules: ModuleList = Field(default_factory=list)
    is_active: bool = True


class PlanUpdate(InputModel):
    name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=2, max_length=50)
    ] | None = None
    price: Price | None = None
    billing_cycle: BillingCycle | None = None
    max_products: int | None = Field(default=None, ge=0, le=10_000_000)
    max_users: int | None = Field(default=None, ge=1, le=100_000)
    max_transactions: int | None = Field(default=None, ge=0, le=100_000_000)
    features: list[Feature] | None = Field(default=None, max_length=50)
    modules: ModuleList | None = None
    is_active: bool | None = None
