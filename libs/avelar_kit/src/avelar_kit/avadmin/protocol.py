from __future__ import annotations

import uuid
from typing import Protocol

from avelar_kit.avadmin.models import AvAdminAccount, AvAdminPlan, AvAdminUser, Standing


class AvAdminReader(Protocol):
    """What a module needs from AvAdmin. ``None`` means AvAdmin answered 404 (no such id).

    Implementations raise ``avelar_kit.errors.ServiceUnavailable`` when AvAdmin cannot answer and
    no acceptable cached copy exists. ``for_write=True`` asks for data fresh enough to authorise a
    write (the stale-data bound applies)."""

    async def get_user(self, user_id: uuid.UUID, *, for_write: bool = False) -> AvAdminUser | None:
        ...

    async def get_account(
        self, account_id: uuid.UUID, *, for_write: bool = False
    ) -> AvAdminAccount | None: ...

    async def get_standing(
        self, user_id: uuid.UUID, account_id: uuid.UUID, *, for_write: bool = False
    ) -> Standing:
        """The user and their company in one call (one cache round trip when both are cached):
        what the kit's caller dependency checks once per request."""
        ...

    async def get_account_plan(
        self, account_id: uuid.UUID, *, for_write: bool = False
    ) -> AvAdminPlan | None: ...
