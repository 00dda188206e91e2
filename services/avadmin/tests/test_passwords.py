"""Password hashing is bounded: one thread per hash, a fixed number of hashes at once."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx
from argon2 import PasswordHasher, Type, extract_parameters
from sqlalchemy import select, update

from avadmin.models import User
from avadmin.security import passwords
from avelar_kit.db.tenancy import act_as_system

from .conftest import CPFS


async def test_one_thread_per_hash_and_owasp_parameters() -> None:
    params = extract_parameters(await passwords.hash_password("uma-senha-1"))
    assert (params.time_cost, params.memory_cost, params.parallelism) == (2, 19 * 1024, 1)


async def test_hashes_run_on_a_bounded_executor() -> None:
    assert passwords._EXECUTOR._max_workers == passwords.hashing_threads() >= 1
    seen: set[str] = set()
    inner = passwords._verify

    def spy(stored: str | None, password: str) -> bool:
        seen.add(threading.current_thread().name)
        return inner(stored, password)

    passwords._verify = spy  # type: ignore[assignment]
    try:
        await asyncio.gather(*(passwords.verify_password(None, f"x{i}") for i in range(8)))
    finally:
        passwords._verify = inner  # type: ignore[assignment]
    assert seen and all(name.startswith("argon2") for name in seen)
    assert len(seen) <= passwords.hashing_threads()


async def test_hashing_threads_yield_to_the_event_loop() -> None:
    """A hashing thread's nice value is above the process's (Linux: per thread), so a burst of
    logins does not take the cores from the event loop's probes and requests."""
    import os
    import sys

    def nice() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    loop_nice = nice()
    thread_nice = await asyncio.get_running_loop().run_in_executor(passwords._EXECUTOR, nice)
    if sys.platform.startswith("linux"):
        assert thread_nice == min(19, loop_nice + passwords.HASH_NICE)
    assert nice() == loop_nice  # the loop's own thread keeps its priority


def test_thread_count_follows_the_setting(monkeypatch: Any) -> None:
    monkeypatch.setenv("AVADMIN_PASSWORD_HASH_THREADS", "3")
    assert passwords.hashing_threads() == 3
    monkeypatch.setenv("AVADMIN_PASSWORD_HASH_THREADS", "0")
    assert passwords.hashing_threads() == 1


async def test_an_old_hash_still_logs_in_and_is_rehashed(client: httpx.AsyncClient,
                                                         signup: Any, app: Any) -> None:
    company = await signup()
    old = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4, type=Type.ID)
    async with app.state.db.sessionmaker() as s, s.begin():
        await act_as_system(s)  # the test works on every company's rows
        await s.execute(update(User).values(password_hash=old.hash(company.password)))
    resp = await client.post("/api/auth/login", json={"cpf": CPFS[0],
                                                      "password": company.password})
    assert resp.status_code == 200, resp.text
    async with app.state.db.sessionmaker() as s:
        await act_as_system(s)  # the test works on every company's rows
        stored = await s.scalar(select(User.password_hash))
    assert stored is not None and extract_parameters(stored).parallelism == 1
    assert await passwords.verify_password(stored, company.password)


async def test_a_login_burst_runs_at_most_login_slots_at_once(client: httpx.AsyncClient,
                                                              monkeypatch: Any) -> None:
    """Issue 10: of 10 logins at once only ``login_slots()`` do their work together (throttle
    transactions, user read, hash); the others wait for a slot, so a burst cannot hold the
    event loop, and the probes behind it, for the whole burst's start."""
    from avadmin.auth import service

    inner = service.verify_password
    running = peak = 0

    async def counting(stored: str | None, password: str) -> bool:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        try:
            return await inner(stored, password)
        finally:
            running -= 1

    monkeypatch.setattr(service, "verify_password", counting)
    answers = await asyncio.gather(*(
        client.post("/api/auth/login", json={"cpf": cpf, "password": "nenhuma-senha-1"})
        for cpf in CPFS[:10]))
    assert [r.status_code for r in answers] == [401] * 10  # no such users: all checked
    assert 1 <= peak <= passwords.login_slots() < 10
