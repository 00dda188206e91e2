"""AvAdmin's streams hold the events it published, and ``user.updated`` carries the person's
name and number: after an erasure those entries are deleted (``XDEL``) from the stream and its
dead letters. A consumer that had one pending reads it back as trimmed and moves on."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from avelar_kit.events.envelope import STREAM_FIELD

logger = logging.getLogger("avadmin.privacy")

BATCH = 500


def _names_user(fields: dict[Any, Any], uid: str) -> bool:
    raw = fields.get(STREAM_FIELD.encode(), fields.get(STREAM_FIELD))
    if raw is None:
        return False
    try:
        data = json.loads(raw).get("data") or {}
    except (ValueError, AttributeError):
        return False
    return isinstance(data, dict) and str(data.get("user_id")) == uid


async def scrub_streams(redis: Any, streams: list[str], user_id: uuid.UUID) -> int:
    """Delete every entry of ``streams`` about ``user_id``; how many went."""
    uid = str(user_id)
    removed = 0
    for stream in streams:
        start = "-"
        while True:
            entries = await redis.xrange(stream, min=start, max="+", count=BATCH)
            if not entries:
                break
            doomed = [mid for mid, fields in entries if _names_user(fields, uid)]
            if doomed:
                removed += int(await redis.xdel(stream, *doomed))
            if len(entries) < BATCH:
                break
            last = entries[-1][0]
            last = last.decode() if isinstance(last, bytes) else str(last)
            start = f"({last}"
    if removed:
        logger.info("privacy: %d stream entries about an erased user deleted", removed)
    return removed
