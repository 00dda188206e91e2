"""MercadoPago's webhook signature (``x-signature``), verified as its documentation says.

The header is ``ts=<timestamp>,v1=<hex>``; v1 is the HMAC-SHA256, keyed with the webhook
secret, of the manifest ``id:{data.id};request-id:{x-request-id};ts:{ts};`` where data.id comes
from the query string (lower-cased when alphanumeric) and a part whose value is absent is left
out. Compared in constant time; ts must be within a tolerance of now, and is accepted in
seconds or in milliseconds.
"""

from __future__ import annotations

import hashlib
import hmac
import time

HEX = frozenset("0123456789abcdef")


class SignatureError(ValueError):
    """Why a notification was refused (logged; the caller only sees 401)."""


def manifest(data_id: str | None, request_id: str | None, ts: str | None) -> str:
    parts = []
    if data_id:
        parts.append(f"id:{data_id.lower() if data_id.isalnum() else data_id};")
    if request_id:
        parts.append(f"request-id:{request_id};")
    if ts:
        parts.append(f"ts:{ts};")
    return "".join(parts)


def compute(secret: str, data_id: str | None, request_id: str | None, ts: str) -> str:
    return hmac.new(secret.encode(), manifest(data_id, request_id, ts).encode(),
                    hashlib.sha256).hexdigest()


def parse_header(header: str | None) -> tuple[str, str]:
    """``ts=...,v1=...`` (any order, spaces tolerated) -> (ts, v1)."""
    if not header:
        raise SignatureError("missing x-signature")
    fields: dict[str, str] = {}
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep or not key or not value or key.strip() in fields:
            raise SignatureError("malformed x-signature")
        fields[key.strip()] = value.strip()
    ts, v1 = fields.get("ts"), fields.get("v1")
    if not ts or not v1:
        raise SignatureError("malformed x-signature")
    if not ts.isdigit() or not ts.isascii():
        raise SignatureError("malformed ts")
    if len(v1) != 64 or not set(v1.lower()) <= HEX:
        raise SignatureError("bad v1 hex")
    return ts, v1.lower()


def ts_seconds(ts: str) -> float:
    value = int(ts)
    # Milliseconds since the epoch are 13 digits today; seconds are 10.
    return value / 1000 if value >= 10**11 else float(value)


def verify(secret: str, header: str | None, request_id: str | None, data_id: str | None,
           *, tolerance: int, now: float | None = None) -> None:
    """Raise ``SignatureError`` unless the notification is MercadoPago's and fresh."""
    if not secret:
        raise SignatureError("no webhook secret configured")
    ts, v1 = parse_header(header)
    current = time.time() if now is None else now
    if abs(current - ts_seconds(ts)) > tolerance:
        raise SignatureError("ts out of tolerance")
    expected = compute(secret, data_id, request_id, ts)
    if not hmac.compare_digest(expected, v1):
        raise SignatureError("signature mismatch")
