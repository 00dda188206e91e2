"""`make run` end to end: the devstack starts embedded PostgreSQL and Redis, migrates and seeds
the three modules, prints the demo logins once, serves them, survives a restart with its data,
and stops cleanly on Ctrl-C (SIGINT)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

UP = "Ctrl-C stops everything."


def _free_base() -> int:
    for _ in range(50):
        base = 20000 + (os.getpid() * 7 + int(time.time() * 1000)) % 30000
        ok = True
        for offset in range(3):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", base + offset))
                except OSError:
                    ok = False
        if ok:
            return base
        time.sleep(0.01)
    raise RuntimeError("no free ports")


class Stack:
    def __init__(self, home: Path, base: int) -> None:
        env = {k: v for k, v in os.environ.items()
               if k not in ("DATABASE_URL", "REDIS_URL") and not k.startswith("TEST_")}
        self.proc = subprocess.Popen(  # noqa: S603 (our own CLI)
            [sys.executable, "-m", "avelar_devstack.cli", "run", "--home", str(home),
             "--port-base", str(base)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"{text!r} not seen; output:\n" + "\n".join(self.lines[-40:]))

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            code = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = -9
        self.reader.join(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return code


def _post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(),  # noqa: S310
                                 headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 (loopback)
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _get(url: str, token: str | None = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    req = urllib.request.Request(url, headers=headers)  # noqa: S310 (loopback)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 (loopback)
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.slow
def test_make_run_serves_the_demo_and_restarts_with_its_data(tmp_path: Path) -> None:
    home = tmp_path / "avelar"
    base = _free_base()
    stack = Stack(home, base)
    try:
        stack.wait_for(UP, timeout=300)
        logins = [line for line in stack.lines if "Demo login" in line]
        assert len(logins) == 2, stack.lines
        match = re.search(r"CPF (\d{11})\s+senha (\S+)", logins[0])
        assert match is not None
        cpf, password = match.groups()
        status, tokens = _post(f"http://127.0.0.1:{base}/api/auth/login",
                               {"cpf": cpf, "password": password})
        assert status == 200, tokens
        token = tokens["access_token"]
        assert _get(f"http://127.0.0.1:{base}/api/accounts/me", token)[0] == 200
        st_status, products = _get(f"http://127.0.0.1:{base + 1}/api/products", token)
        assert st_status == 200
        assert products["total"] > 0
        lc_status, accounts = _get(f"http://127.0.0.1:{base + 2}/api/bank-accounts", token)
        assert lc_status == 200
        assert len(accounts) > 0
        for port in (base, base + 1, base + 2):
            status, health = _get(f"http://127.0.0.1:{port}/health")
            assert status == 200
            assert health["status"] == "healthy", health
        # The password is shown once and kept in a file only its owner can read.
        cred = home / "demo-login.txt"
        assert cred.stat().st_mode & 0o777 == 0o600
        assert password in cred.read_text()
    finally:
        code = stack.stop()
    assert code == 0, stack.lines[-20:]
    assert any("stopped" in line for line in stack.lines)

    again = Stack(home, base)
    try:
        again.wait_for(UP, timeout=300)
        assert not any("Demo login" in line for line in again.lines)
        # Same data, same signing key: the token from the first run still works.
        assert _get(f"http://127.0.0.1:{base}/api/users/me", token)[0] == 200
    finally:
        assert again.stop() == 0
