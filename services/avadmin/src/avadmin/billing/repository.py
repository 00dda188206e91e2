"""Every billing query."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import selectinload

from avadmin.accounts.models import Account, AccountStatus
from avadmin.audit.models import AuditLog
from avadmin.billing.models import (
    BillingNotification,
    BillingStatus,
    BillingTransaction,
    GatewayPlan,
    Subscription,
)
from avadmin.plans.models import BillingCycle, Plan
from avelar_kit.db.repository import RepositoryBase


class BillingRepository(RepositoryBase):
    # -- transactions --------------------------------------------------------------------------

    async def add_transaction(self, tx: BillingTransaction) -> BillingTransaction:
        self.session.add(tx)
        await self.session.flush()
        await self.session.refresh(tx, attribute_names=["plan"])
        return tx

    async def get(self, tx_id: uuid.UUID, *, for_update: bool = False
                  ) -> BillingTransaction | None:
        stmt = (select(BillingTransaction).where(BillingTransaction.id == tx_id)
                .options(selectinload(BillingTransaction.plan)))
        if for_update:
            stmt = stmt.with_for_update(of=BillingTransaction)
        return await self.session.scalar(stmt)

    async def by_mercadopago_id(self, mp_id: str, *, for_update: bool = False
                                ) -> BillingTransaction | None:
        stmt = (select(BillingTransaction).where(BillingTransaction.mercadopago_id == mp_id)
                .options(selectinload(BillingTransaction.plan)))
        if for_update:
            stmt = stmt.with_for_update(of=BillingTransaction)
        return await self.session.scalar(stmt)

    async def by_idempotency_key(self, account_id: uuid.UUID, key: str
                                 ) -> BillingTransaction | None:
        return await self.session.scalar(
            select(BillingTransaction).where(BillingTransaction.account_id == account_id,
                                             BillingTransaction.idempotency_key == key)
            .options(selectinload(BillingTransaction.plan)))

    async def by_preapproval(self, preapproval_id: str) -> BillingTransaction | None:
        """The checkout that created a card subscription (its first charge)."""
        return await self.session.scalar(
            select(BillingTransaction)
            .where(BillingTransaction.preapproval_id == preapproval_id,
                   BillingTransaction.idempotency_key.is_not(None))
            .options(selectinload(BillingTransaction.plan)))

    async def list_for(self, account_id: uuid.UUID, *, limit: int, offset: int
                       ) -> Sequence[BillingTransaction]:
        return (await self.session.scalars(
            select(BillingTransaction).where(BillingTransaction.account_id == account_id)
            .options(selectinload(BillingTransaction.plan))
            .order_by(BillingTransaction.created_at.desc(), BillingTransaction.id)
            .limit(limit).offset(offset))).all()

    async def cancel_open_card_checkouts(self, account_id: uuid.UUID, keep: uuid.UUID) -> None:
        """Pending card checkouts other than ``keep`` that never got a charge."""
        await self.session.execute(
            update(BillingTransaction)
            .where(BillingTransaction.account_id == account_id, BillingTransaction.id != keep,
                   BillingTransaction.status == BillingStatus.pending,
                   BillingTransaction.mercadopago_id.is_(None))
            .values(status=BillingStatus.failed, failure_reason="superseded"))

    # -- subscriptions -------------------------------------------------------------------------

    async def subscription(self, account_id: uuid.UUID, *, for_update: bool = False
                           ) -> Subscription | None:
        stmt = select(Subscription).where(Subscription.account_id == account_id)
        if for_update:
            stmt = stmt.with_for_update()
        return await self.session.scalar(stmt)

    async def subscription_for_update(self, account_id: uuid.UUID) -> Subscription:
        await self.session.execute(
            insert(Subscription).values(account_id=account_id, cycle=BillingCycle.monthly)
            .on_conflict_do_nothing(index_elements=[Subscription.account_id]))
        sub = await self.subscription(account_id, for_update=True)
        assert sub is not None
        await self.session.refresh(sub)
        return sub

    async def overdue(self, cutoff: datetime, limit: int = 200) -> Sequence[uuid.UUID]:
        """Active companies on a paid plan whose paid period ended before ``cutoff``."""
        return (await self.session.scalars(
            select(Subscription.account_id)
            .join(Account, Account.id == Subscription.account_id)
            .join(Plan, Plan.id == Account.plan_id)
            .where(Subscription.paid_until.is_not(None), Subscription.paid_until < cutoff,
                   Account.status == AccountStatus.active, Plan.price > 0)
            .order_by(Subscription.paid_until).limit(limit))).all()

    async def in_grace(self, now: datetime, cutoff: datetime, limit: int = 200
                       ) -> Sequence[uuid.UUID]:
        """Active companies on a paid plan whose paid period ended, still within the grace."""
        return (await self.session.scalars(
            select(Subscription.account_id)
            .join(Account, Account.id == Subscription.account_id)
            .join(Plan, Plan.id == Account.plan_id)
            .where(Subscription.paid_until < now, Subscription.paid_until >= cutoff,
                   Account.status == AccountStatus.active, Plan.price > 0)
            .order_by(Subscription.paid_until).limit(limit))).all()

    async def warned(self, account_id: uuid.UUID, paid_until: datetime) -> bool:
        return await self.session.scalar(
            select(AuditLog.id).where(AuditLog.account_id == account_id,
                                      AuditLog.action == "billing.suspension_warned",
                                      AuditLog.details["paid_until"].astext
                                      == paid_until.isoformat()).limit(1)) is not None

    async def due_downgrades(self, now: datetime, limit: int = 200) -> Sequence[uuid.UUID]:
        return (await self.session.scalars(
            select(Subscription.account_id)
            .where(Subscription.scheduled_plan_id.is_not(None),
                   Subscription.scheduled_at <= now)
            .limit(limit))).all()

    # -- MercadoPago plans ---------------------------------------------------------------------

    async def gateway_plan(self, plan_id: uuid.UUID, cycle: BillingCycle, amount: Decimal
                           ) -> GatewayPlan | None:
        return await self.session.scalar(
            select(GatewayPlan).where(GatewayPlan.plan_id == plan_id, GatewayPlan.cycle == cycle,
                                      GatewayPlan.amount == amount))

    async def save_gateway_plan(self, plan_id: uuid.UUID, cycle: BillingCycle, amount: Decimal,
                                preapproval_plan_id: str) -> None:
        await self.session.execute(
            insert(GatewayPlan).values(plan_id=plan_id, cycle=cycle, amount=amount,
                                       preapproval_plan_id=preapproval_plan_id)
            .on_conflict_do_nothing(constraint="uq_mercadopago_plans_plan_cycle_amount"))

    # -- notifications -------------------------------------------------------------------------

    async def enqueue(self, topic: str, resource_id: str, request_id: str | None) -> None:
        """One pending row per resource: repeated deliveries merge into it."""
        await self.session.execute(
            insert(BillingNotification)
            .values(topic=topic, resource_id=resource_id, request_id=request_id)
            .on_conflict_do_nothing(index_elements=[BillingNotification.topic,
                                                    BillingNotification.resource_id],
                                    index_where=BillingNotification.processed_at.is_(None)))

    async def next_pending(self) -> BillingNotification | None:
        return await self.session.scalar(
            select(BillingNotification).where(BillingNotification.processed_at.is_(None),
                                              BillingNotification.attempts < 20)
            .order_by(BillingNotification.created_at).limit(1)
            .with_for_update(skip_locked=True))

    async def notifications(self, resource_id: str) -> Sequence[BillingNotification]:
        return (await self.session.scalars(
            select(BillingNotification).where(BillingNotification.resource_id == resource_id)
            .order_by(BillingNotification.created_at))).all()
