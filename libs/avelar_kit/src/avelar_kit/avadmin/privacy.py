"""What a consuming module holds of a person through the AvAdmin client: the cached copy of
the person's AvAdmin profile (name, CPF, WhatsApp), for the module's part of an LGPD export.
The erasure drops it: ``user.erased`` invalidates it like any user event (``events.py``)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI


async def cached_profile(app: FastAPI, user_id: uuid.UUID) -> dict[str, Any] | None:
    """The module's cached copy of the user (the fresh entry, else the last known one), or
    ``None`` when it holds none (or runs without the real client, as in unit tests)."""
    cache = getattr(getattr(app.state, "avadmin", None), "cache", None)
    if cache is None:
        return None
    fresh, _ = await cache.read("user", user_id)
    entry = fresh if fresh is not None else await cache.read_last("user", user_id)
    if entry is None or entry.data is None:
        return None
    return dict(entry.data)
