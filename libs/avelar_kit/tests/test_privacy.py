"""``user.erased`` in the kit (docs/privacy.md): parsed from AvAdmin's envelope, it drops the
module's cached copy of the person like any user event; the cached profile is what a module
reports for the export."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from avelar_kit.avadmin.events import UserErased, cache_invalidation_handler, parse_avadmin_event
from avelar_kit.events.envelope import EventEnvelope


class Recorder:
    def __init__(self) -> None:
        self.users: list[uuid.UUID] = []
        self.accounts: list[uuid.UUID] = []

    async def invalidate_user(self, user_id: uuid.UUID) -> None:
        self.users.append(user_id)

    async def invalidate_account(self, account_id: uuid.UUID) -> None:
        self.accounts.append(account_id)


def envelope(data: dict[str, Any]) -> EventEnvelope:
    return EventEnvelope(id=uuid.uuid4(), type="user.erased", occurred_at=datetime.now(UTC),
                         source="AvAdmin", schema_version=1, data=data)


async def test_user_erased_drops_the_cached_person_and_carries_no_personal_field() -> None:
    user, account = uuid.uuid4(), uuid.uuid4()
    event = envelope({"user_id": str(user), "account_id": str(account),
                      "erased_at": "2026-12-01T20:00:00+00:00",
                      "sessions_valid_after": "2026-12-01T20:00:00+00:00"})
    payload = parse_avadmin_event(event)
    assert isinstance(payload, UserErased) and payload.user_id == user
    own: list[str] = []

    async def module_handler(e: EventEnvelope, session: Any) -> None:
        own.append(e.type)

    recorder = Recorder()
    handler = cache_invalidation_handler(recorder, {"user.erased": module_handler})
    await handler(event, None)  # type: ignore[arg-type]
    assert recorder.users == [user] and recorder.accounts == []
    assert own == ["user.erased"]
