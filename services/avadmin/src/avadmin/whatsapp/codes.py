"""Six-digit codes: drawn with ``secrets``, stored as HMAC-SHA256 (a leaked table does not give
the codes away even though six digits are few), compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def hash_code(key: bytes, code_id: uuid.UUID, code: str) -> str:
    return hmac.new(key, f"{code_id}:{code}".encode(), hashlib.sha256).hexdigest()


def code_matches(key: bytes, code_id: uuid.UUID, code: str, stored: str) -> bool:
    return hmac.compare_digest(hash_code(key, code_id, code), stored)


def derive_key(secret: str | bytes) -> bytes:
    raw = secret.encode() if isinstance(secret, str) else secret
    return hashlib.sha256(b"avelar-otp-v1:" + raw).digest()
