"""argon2id password hashing, verified off the event loop.

argon2-cffi's defaults are RFC 9106's "low memory" profile (t=3, m=64 MiB, p=4), above the OWASP
minimum (m=19 MiB, t=2, p=1); we pin them explicitly so a library upgrade cannot weaken them.
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4, hash_len=32,
                         salt_len=16, type=Type.ID)

# Verified when the CPF is unknown, so that an unknown CPF costs the same time as a wrong
# password and the two cannot be told apart.
_DUMMY_HASH = _hasher.hash("avelar-dummy-password-for-timing")


def hash_password_sync(password: str) -> str:
    return _hasher.hash(password)


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


def _verify(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_password(stored: str | None, password: str) -> bool:
    """True when ``password`` matches ``stored``; with ``stored=None`` burns the same time."""
    return await asyncio.to_thread(_verify, stored, password)


def needs_rehash(stored: str) -> bool:
    try:
        return _hasher.check_needs_rehash(stored)
    except InvalidHashError:
        return True
