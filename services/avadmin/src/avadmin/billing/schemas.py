from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from avadmin.accounts.models import AccountStatus
from avadmin.billing.models import BillingMethod, BillingStatus
from avadmin.plans.models import BillingCycle
from avadmin.schemas_common import InputModel
from avelar_kit.br.types import NonNegativeMoney


class CheckoutIn(InputModel):
    """A plan (by id or name), a cycle and a method. ``card_token_id`` is the token of
    MercadoPago's card form; without it the answer's ``checkout_url`` is MercadoPago's page."""

    plan_id: uuid.UUID | None = None
    plan_name: str | None = Field(default=None, min_length=1, max_length=50)
    cycle: BillingCycle = BillingCycle.monthly
    method: BillingMethod
    payer_email: str | None = Field(default=None, max_length=254,
                                    pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    card_token_id: str | None = Field(default=None, min_length=1, max_length=200)

    @model_validator(mode="after")
    def _one_plan(self) -> CheckoutIn:
        if (self.plan_id is None) == (self.plan_name is None):
            raise ValueError("informe plan_id ou plan_name (um dos dois)")
        return self


class TransactionOut(BaseModel):
    id: uuid.UUID
    plan_id: uuid.UUID
    plan_name: str
    amount: NonNegativeMoney
    currency: str
    status: BillingStatus
    method: BillingMethod | None
    cycle: BillingCycle | None
    mercadopago_id: str | None
    created_at: datetime
    paid_at: datetime | None
    period_start: datetime | None
    period_end: datetime | None
    failure_reason: str | None
    receipt_url: str | None


class PixOut(BaseModel):
    qr_code: str = Field(description="Pix copia e cola")
    qr_code_base64: str = Field(description="imagem PNG do QR code, em base64")
    ticket_url: str | None
    expires_at: datetime | None


class CardOut(BaseModel):
    checkout_url: str | None = Field(description="página do MercadoPago para autorizar o cartão")
    preapproval_id: str | None


class CheckoutOut(BaseModel):
    transaction: TransactionOut
    applies: Literal["on_payment", "at_period_end"]
    effective_at: datetime | None
    pix: PixOut | None = None
    card: CardOut | None = None


class PlanRef(BaseModel):
    id: uuid.UUID
    name: str


class SubscriptionOut(BaseModel):
    plan: PlanRef
    cycle: BillingCycle
    status: AccountStatus
    method: BillingMethod | None
    amount: NonNegativeMoney | None
    paid_until: datetime | None
    next_charge_at: datetime | None
    grace_until: datetime | None
    scheduled_plan: PlanRef | None
    scheduled_at: datetime | None
    card_subscription_status: str | None
