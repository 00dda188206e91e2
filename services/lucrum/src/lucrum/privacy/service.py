"""A person's data in Lucrum, gathered for AvAdmin's export (LGPD art. 18, II and V).

Lucrum's books name people only by AvAdmin user id (``created_by``): that id is the
pseudonymous reference the ledger keeps after an erasure (art. 16, I: records the law requires
stay intact). The person's name, CPF and number reach Lucrum only as the AvAdmin client's
cached profile, which ``user.erased`` drops."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lucrum.privacy.repository import PrivacyRepository


class PrivacyService:
    def __init__(self, session: AsyncSession) -> None:
        self.repo = PrivacyRepository(session)

    async def personal_data(self, user_id: uuid.UUID,
                            cached_profile: dict[str, Any] | None) -> dict[str, Any]:
        return {
            "cached_profile": cached_profile,
            "entries_created": [
                {"id": str(t.id), "code": t.code, "account_id": str(t.account_id),
                 "description": t.description, "amount": f"{t.amount:.2f}",
                 "type": t.type.value, "transaction_date": t.transaction_date.isoformat(),
                 "created_at": t.created_at.isoformat()}
                for t in await self.repo.entries_created_by(user_id)],
            "transfers_created": [
                {"id": str(t.id), "account_id": str(t.account_id), "amount": f"{t.amount:.2f}",
                 "description": t.description, "transfer_date": t.transfer_date.isoformat(),
                 "created_at": t.created_at.isoformat()}
                for t in await self.repo.transfers_created_by(user_id)],
        }
