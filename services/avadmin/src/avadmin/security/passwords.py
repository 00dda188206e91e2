"""argon2id password hashing, verified off the event loop on a small executor of its own.

Parameters: OWASP's first argon2id configuration (m=19 MiB, t=2, p=1), pinned explicitly so a
library upgrade cannot change them. ``p=1``: one thread per hash, so that the number of hashes
running at once, not argon2 itself, decides how many cores logins take.

The work is bounded: every hash and verification runs on ``_EXECUTOR``, a thread pool with as
many threads as the process may use cores. A burst of logins queues there instead of starting
dozens of threads that each hold the hash's memory: memory for hashing is at most
``threads x 19 MiB``. The hashing threads run at a lower priority than the event loop
(``HASH_NICE`` above the process's nice value, Linux's per-thread nice): when both want a
core the loop (health probes, every other request) and the database get it first, and when
the loop is idle the hashes use every core (issue 10: with cores - 1 threads at the same
priority, a burst of 20 logins on 2 cores had a p95 of 2.8 s and probes a p99 of 163 ms).
``AuthService.login`` lets ``login_slots()`` logins work at once, so that a burst waits
before its database work too, not only before the hash (ADR 0011).
Hashes made with other parameters (the previous
m=64 MiB, t=3, p=4) still verify, and are re-hashed with these at the next successful login
(``needs_rehash``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

T = TypeVar("T")

TIME_COST = 2
MEMORY_COST_KIB = 19 * 1024
PARALLELISM = 1

_hasher = PasswordHasher(time_cost=TIME_COST, memory_cost=MEMORY_COST_KIB,
                         parallelism=PARALLELISM, hash_len=32, salt_len=16, type=Type.ID)


def hashing_threads() -> int:
    """The cores this process may run on. ``AVADMIN_PASSWORD_HASH_THREADS`` overrides it."""
    configured = os.environ.get("AVADMIN_PASSWORD_HASH_THREADS")
    if configured:
        return max(1, int(configured))
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, cores)


def login_slots() -> int:
    """How many logins ``AuthService.login`` lets do their work at once: one per hashing
    thread, and one more that reads its user and counts its attempt while they hash."""
    return hashing_threads() + 1


# Nice increments of a hashing thread over the process (5: about a third of a core's share
# against the event loop when both run, none lost when the loop waits).
HASH_NICE = 5


def _lower_priority() -> None:
    """The hashing thread's own nice value (Linux: per thread); elsewhere nothing changes."""
    with contextlib.suppress(OSError, AttributeError):
        own = os.getpriority(os.PRIO_PROCESS, 0)
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), min(19, own + HASH_NICE))


_EXECUTOR = ThreadPoolExecutor(max_workers=hashing_threads(), thread_name_prefix="argon2",
                               initializer=_lower_priority)

# Verified when the CPF is unknown, so that an unknown CPF costs the same time as a wrong
# password and the two cannot be told apart.
_DUMMY_HASH = _hasher.hash("avelar-dummy-password-for-timing")


async def _run(fn: Callable[..., T], *args: str | None) -> T:
    return await asyncio.get_running_loop().run_in_executor(_EXECUTOR, fn, *args)


def hash_password_sync(password: str) -> str:
    return _hasher.hash(password)


async def hash_password(password: str) -> str:
    return await _run(_hasher.hash, password)


def _verify(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_password(stored: str | None, password: str) -> bool:
    """True when ``password`` matches ``stored``; with ``stored=None`` burns the same time."""
    return await _run(_verify, stored, password)


def needs_rehash(stored: str) -> bool:
    try:
        return _hasher.check_needs_rehash(stored)
    except InvalidHashError:
        return True
