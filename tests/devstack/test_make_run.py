"""`make run` end to end: the devstack starts embedded PostgreSQL and Redis, migrates and seeds
the three modules, prints the demo logins once, serves them, survives a restart with its data,
and stops cleanly on Ctrl-C (SIGINT)."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path
from typing import Any

import pytest


@pytest.mark.slow
def test_make_run_serves_the_demo_and_restarts_with_its_data(stack_home: Path, ds: Any) -> None:
    home = stack_home
    base = ds.free_base()
    stack = ds.Stack(home, base)
    try:
        stack.wait_for(ds.UP, timeout=300)
        logins = [line for line in stack.lines if "Demo login" in line]
        assert len(logins) == 2, stack.lines
        cpf, password = ds.demo_login(stack.lines)
        status, tokens = ds.post(f"http://127.0.0.1:{base}/api/auth/login",
                                 {"cpf": cpf, "password": password})
        assert status == 200, tokens
        token = tokens["access_token"]
        assert ds.get(f"http://127.0.0.1:{base}/api/accounts/me", token)[0] == 200
        st_status, products = ds.get(f"http://127.0.0.1:{base + 1}/api/products", token)
        assert st_status == 200
        assert products["total"] > 0
        lc_status, accounts = ds.get(f"http://127.0.0.1:{base + 2}/api/bank-accounts", token)
        assert lc_status == 200
        assert len(accounts) > 0
        for port in (base, base + 1, base + 2):
            status, health = ds.get(f"http://127.0.0.1:{port}/health")
            assert status == 200
            assert health["status"] == "healthy", health
        # The portal (issue 14) is printed first and serves its pages over the three APIs.
        up = next(i for i, line in enumerate(stack.lines) if "AvelarSys is up:" in line)
        assert f"http://127.0.0.1:{base + 80}/" in stack.lines[up + 1], stack.lines[up:up + 3]
        status, portal = ds.get(f"http://127.0.0.1:{base + 80}/health")
        assert status == 200
        assert portal["modules"] == {"AvAdmin": "up", "StockTech": "up", "Lucrum": "up"}
        # No MercadoPago credentials: the local stand-in runs, and make run says how to pay.
        assert ds.get(f"http://127.0.0.1:{base + 3}/health")[0] == 200
        assert any("avelar_standins.mercadopago approve" in line for line in stack.lines)
        assert any(f":{base + 3}/" in line and "approve" in line for line in stack.lines)
        # No WhatsApp credentials: the stand-in's inbox (base + 10) gets what is sent; the demo
        # numbers are verified, so a password recovery code reaches it.
        assert any(f":{base + 10}/" in line and "WhatsApp" in line for line in stack.lines)
        assert ds.post(f"http://127.0.0.1:{base}/api/auth/password/forgot",
                       {"cpf": cpf})[0] == 202
        inbox = f"http://127.0.0.1:{base + 10}/_standin/messages?template=avelar_codigo"
        deadline = time.monotonic() + 30
        while not ds.get(inbox)[1]["messages"] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert ds.get(inbox)[1]["messages"], "no recovery code reached the WhatsApp stand-in"
        # The password is shown once and kept in a file only its owner can read.
        cred = home / "demo-login.txt"
        assert cred.stat().st_mode & 0o777 == 0o600
        assert password in cred.read_text()
    finally:
        code = stack.stop()
    assert code == 0, stack.lines[-20:]
    assert any("stopped" in line for line in stack.lines)

    again = ds.Stack(home, base)
    try:
        again.wait_for(ds.UP, timeout=300)
        assert not any("Demo login" in line for line in again.lines)
        # Same data, same signing key: the token from the first run still works.
        assert ds.get(f"http://127.0.0.1:{base}/api/users/me", token)[0] == 200
    finally:
        assert again.stop() == 0


def _server_pids(lines: list[str], module: str) -> list[int]:
    pids = []
    for line in lines:
        match = re.search(rf"\[{module}\] INFO: Started server process \[(\d+)\]", line)
        if match:
            pids.append(int(match.group(1)))
    return pids


@pytest.mark.slow
def test_a_module_killed_under_make_run_comes_back_while_the_others_answer(live_stack: Any,
                                                                           ds: Any) -> None:
    stack, base = live_stack, live_stack.base
    before = _server_pids(stack.lines, "StockTech")
    assert before, stack.lines[-20:]
    os.kill(before[-1], signal.SIGKILL)
    stack.wait_for("StockTech exited with -9; restarting", timeout=30)
    # While StockTech is away, AvAdmin and Lucrum keep answering.
    for port in (base, base + 2):
        status, health = ds.get(f"http://127.0.0.1:{port}/health")
        assert status == 200, health
    deadline = time.monotonic() + 90
    status = 0
    while time.monotonic() < deadline:
        try:
            status = ds.get(f"http://127.0.0.1:{base + 1}/health")[0]
        except OSError:
            status = 0
        if status == 200:
            break
        time.sleep(0.3)
    assert status == 200, stack.lines[-30:]
    after = _server_pids(stack.lines, "StockTech")
    assert len(after) == len(before) + 1 and after[-1] != before[-1]
    assert any("restarting StockTech (restart 1)" in line for line in stack.lines)
    assert stack.running()
