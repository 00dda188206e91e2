"""The partner's own reaction to AvAdmin events (after the cache invalidation that
avelar_kit does for every module). Runs in the consumer's transaction with the handled-id
insert, so a redelivered event never counts twice."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from avelar_kit.avadmin.events import AccountPlanChanged
from avelar_kit.events import EventEnvelope
from partner_module.models import AccountLimits


async def on_plan_changed(event: EventEnvelope, session: AsyncSession) -> None:
    payload = AccountPlanChanged.model_validate(event.data)
    stmt = insert(AccountLimits).values(
        account_id=payload.account_id, plan_name=payload.plan.name,
        max_products=payload.plan.max_products, changes=1,
    )
    await session.execute(stmt.on_conflict_do_update(
        index_elements=[AccountLimits.account_id],
        set_={"plan_name": stmt.excluded.plan_name, "max_products": stmt.excluded.max_products,
              "changes": AccountLimits.changes + 1},
    ))
