"""Every query over the events Lucrum keeps: the sale sides waiting for a default account."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from avelar_kit.db.repository import RepositoryBase
from lucrum.events.models import PendingPosting


class PendingPostingRepository(RepositoryBase):
    async def lock_company(self, company: uuid.UUID) -> None:
        """Serialise, per company, deciding that a sale side waits and posting what waits
        (until the transaction ends): a sale handled while the company gets a default account
        or Lucrum back cannot leave its side waiting after the posting of the waiting ones."""
        await self.session.execute(select(func.pg_advisory_xact_lock(
            func.hashtextextended(f"lucrum.pending_postings:{company}", 0))))

    async def list_for(self, company: uuid.UUID, *, include_posted: bool,
                       limit: int = 500) -> Sequence[PendingPosting]:
        stmt = select(PendingPosting).where(PendingPosting.account_id == company)
        if not include_posted:
            stmt = stmt.where(PendingPosting.posted_at.is_(None))
        stmt = stmt.order_by(PendingPosting.created_at, PendingPosting.id).limit(limit)
        return (await self.session.execute(stmt)).scalars().all()

    async def keep(self, values: dict[str, Any]) -> None:
        """One waiting side per sale side (``source_ref``); a repeat changes nothing."""
        await self.session.execute(
            insert(PendingPosting).values(**values)
            .on_conflict_do_nothing(constraint="uq_pending_postings_source_ref"))

    async def waiting_for_update(self, company: uuid.UUID) -> Sequence[PendingPosting]:
        """The company's sides not posted yet, locked (others' locks skipped) in their order."""
        return (await self.session.execute(
            select(PendingPosting)
            .where(PendingPosting.account_id == company, PendingPosting.posted_at.is_(None))
            .order_by(PendingPosting.created_at, PendingPosting.id)
            .with_for_update(skip_locked=True))).scalars().all()
