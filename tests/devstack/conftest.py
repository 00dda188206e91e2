"""The dev stack as the tests drive it: `avelar-devstack run` as a subprocess on free ports
with its own home folder; ``live_stack`` is `make run` in a terminal, shared by the tests that
only need it up (a killed module, the operator commands) and stopped with Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

UP = "Ctrl-C stops everything."


def free_base() -> int:
    from avelar_devstack.cli import free_port_base

    candidates = (20000 + (os.getpid() * 7 + int(time.time() * 1000) + i * 101) % 12000
                  for i in range(50))
    base = free_port_base(candidates)
    if base is None:
        raise RuntimeError("no free ports")
    return base


class Stack:
    def __init__(self, home: Path, base: int) -> None:
        self.home = home
        self.base = base
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
        # Closing the pipe while the reader still blocks on it (a module left running keeps it
        # open) would hang the test run: leave it to the garbage collector then.
        if self.proc.stdout is not None and not self.reader.is_alive():
            self.proc.stdout.close()
        return code


class MakeRunInTerminal(Stack):
    """`make run` as a person starts it: in a terminal (a pseudo-terminal here), stopped by
    pressing Ctrl-C there, which the terminal sends to the whole foreground process group."""

    def __init__(self, home: Path, base: int) -> None:
        import pty

        self.home, self.base = home, base
        self.lines = []
        env = {k: v for k, v in os.environ.items()
               if k not in ("DATABASE_URL", "REDIS_URL", "MAKEFLAGS", "MFLAGS")
               and not k.startswith("TEST_")}
        env.update(AVELAR_HOME=str(home), AVELAR_PORT_BASE=str(base))
        root = Path(__file__).resolve().parents[2]
        pid, self.fd = pty.fork()
        if pid == 0:  # the child: make in the terminal
            try:
                os.chdir(root)
                os.execvpe("make", ["make", "--no-print-directory", "run"], env)  # noqa: S606, S607
            finally:
                os._exit(127)
        self.pid = pid
        self.code: int | None = None
        self.reader = threading.Thread(target=self._read_pty, daemon=True)
        self.reader.start()

    def _read_pty(self) -> None:
        buffer = b""
        while True:
            try:
                data = os.read(self.fd, 65536)
            except OSError:
                break
            if not data:
                break
            buffer += data
            *complete, buffer = buffer.split(b"\n")
            self.lines.extend(line.decode(errors="replace").rstrip("\r") for line in complete)

    def running(self) -> bool:
        if self.code is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.code = os.waitstatus_to_exitcode(status)
        return self.code is None

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return
            if not self.running():
                break
            time.sleep(0.2)
        raise AssertionError(f"{text!r} not seen; output:\n" + "\n".join(self.lines[-40:]))

    def stop(self) -> int:
        """Ctrl-C at the terminal; make's exit status (-2 if a signal ended make)."""
        if self.running():
            os.write(self.fd, b"\x03")
        deadline = time.monotonic() + 60
        while self.running() and time.monotonic() < deadline:
            time.sleep(0.2)
        if self.running():
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self.code = -9
        self.reader.join(timeout=10)
        os.close(self.fd)
        assert self.code is not None
        return self.code


def post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(),  # noqa: S310
                                 headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 (loopback)
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def get(url: str, token: str | None = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    req = urllib.request.Request(url, headers=headers)  # noqa: S310 (loopback)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 (loopback)
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())




def demo_login(lines: list[str]) -> tuple[str, str]:
    logins = [line for line in lines if "Demo login" in line]
    match = re.search(r"CPF (\d{11})\s+senha (\S+)", logins[0])
    assert match is not None
    cpf, password = match.groups()
    return cpf, password


class DevStack:
    """What the tests of this folder use (a fixture, since test files do not import each
    other here)."""

    UP = UP
    Stack = Stack
    free_base = staticmethod(free_base)
    get = staticmethod(get)
    post = staticmethod(post)
    demo_login = staticmethod(demo_login)


@pytest.fixture
def ds() -> type[DevStack]:
    return DevStack


def _stack_home(prefix: str) -> Iterator[Path]:
    # Not under pytest's basetemp: the embedded PostgreSQL runs as its own system user and must
    # traverse the folders above its data, and any pytest that starts on the machine meanwhile
    # makes /tmp/pytest-of-<user> private again (0700), so initdb failed with "Permission
    # denied" whenever another run began during this one.
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield tmp / "avelar"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def stack_home() -> Iterator[Path]:
    """A home folder for one `make run` of a test."""
    yield from _stack_home("avelar-devstack-")


@pytest.fixture(scope="session")
def live_stack() -> Iterator[Stack]:
    """`make run` in a terminal, shared by the tests that need it up; stopped with Ctrl-C,
    after which make itself exits 0 and prints no error."""
    homes = _stack_home("avelar-live-")
    home = next(homes)
    stack = MakeRunInTerminal(home, free_base())
    try:
        stack.wait_for(UP, timeout=300)
        yield stack
    finally:
        code = stack.stop()
        homes.close()
    assert code == 0, stack.lines[-20:]
    assert not any("make: ***" in line for line in stack.lines), stack.lines[-20:]
    assert any("[make run] stopped" in line for line in stack.lines)
