"""The dev stack's process supervisor: a module that exits is started again with backoff while
the others keep serving; stopping sends SIGTERM to every module and waits for them."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# Seconds before the n-th restart in a row: 1, 2, 4, ... up to 30. A module that stayed up
# this long before it exited starts again from the first step.
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 30.0
STABLE_AFTER = 30.0


def backoff(failures: int) -> float:
    return float(min(BACKOFF_FIRST * 2 ** max(failures - 1, 0), BACKOFF_MAX))


@dataclass
class Child:
    name: str
    cmd: list[str]
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    failures: int = 0
    restart_at: float | None = None
    restarts: int = 0

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@dataclass
class Supervisor:
    say: Callable[[str], None]
    children: list[Child] = field(default_factory=list)
    clock: Callable[[], float] = time.monotonic

    def add(self, name: str, cmd: list[str], env: dict[str, str]) -> Child:
        child = Child(name, cmd, env)
        self.children.append(child)
        return child

    def start(self, child: Child) -> None:
        # Its own session: Ctrl-C reaches the supervisor only, which stops the modules in order.
        child.proc = subprocess.Popen(child.cmd, env=child.env,  # noqa: S603 (our own CLIs)
                                      start_new_session=True)
        child.started_at = self.clock()
        child.restart_at = None

    def start_all(self) -> None:
        for child in self.children:
            self.start(child)

    def tick(self) -> None:
        """Notice exits and start what is due; called every few hundred milliseconds."""
        now = self.clock()
        for child in self.children:
            if child.restart_at is not None:
                if now >= child.restart_at:
                    child.restarts += 1
                    self.say(f"restarting {child.name} (restart {child.restarts})")
                    self.start(child)
                continue
            if child.proc is None or child.proc.poll() is None:
                continue
            if now - child.started_at >= STABLE_AFTER:
                child.failures = 0
            child.failures += 1
            delay = backoff(child.failures)
            self.say(f"{child.name} exited with {child.proc.returncode}; "
                     f"restarting in {delay:g} s, the others keep serving")
            child.restart_at = now + delay

    def stop_all(self, timeout: float = 15.0) -> None:
        for child in self.children:
            child.restart_at = None
            if child.running:
                assert child.proc is not None
                child.proc.send_signal(signal.SIGTERM)
        deadline = self.clock() + timeout
        for child in self.children:
            if child.proc is None:
                continue
            try:
                child.proc.wait(timeout=max(deadline - self.clock(), 0.1))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.proc.pid, signal.SIGKILL)
                child.proc.wait()
