"""Every `./avelar ...` command the README shows, run as written against a running `make run`
(the dev stack's own home, found through AVELAR_HOME as the launcher does)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def readme_commands() -> list[str]:
    commands = []
    for line in (ROOT / "README.md").read_text().splitlines():
        if line.startswith("./avelar "):
            commands.append(line.split("  #")[0].strip())
    return commands


def _run(command: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL") and not k.startswith("TEST_")}
    env["AVELAR_HOME"] = str(home)
    return subprocess.run(shlex.split(command), cwd=ROOT, env=env,  # noqa: S603
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=180, check=False)


def test_the_readme_shows_the_operator_commands() -> None:
    commands = readme_commands()
    for needed in ("avadmin create-operator", "lucrum check-balances",
                   "stocktech prune-idempotency", "avadmin backup", "lucrum restore"):
        assert any(f"./avelar {needed}" in c for c in commands), commands


@pytest.mark.slow
def test_each_readme_operator_command_works_against_make_run(live_stack: Any, ds: Any) -> None:
    home: Path = live_stack.home
    for command in readme_commands():
        proc = _run(command, home)
        assert proc.returncode == 0, (command, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr, (command, proc.stderr)
    # What they did is there: the operator can log in, the backups and their manifests exist.
    out = _run("./avelar avadmin create-operator --email ops@avelarsys.com.br "
               "--name 'Equipe Avelar'", home).stdout
    password = out.rsplit("password: ", 1)[1].strip()
    status, body = ds.post(f"http://127.0.0.1:{live_stack.base}/api/operator/login",
                           {"email": "ops@avelarsys.com.br", "password": password})
    assert status == 200, body
    for module in ("avadmin", "lucrum"):
        dumps = sorted((home / "backups").glob(f"{module}-*.dump"))
        assert dumps, list((home / "backups").iterdir())
        manifest = json.loads(dumps[-1].with_name(dumps[-1].name + ".json").read_text())
        assert manifest["module"].lower() == module and manifest["revision"]
    # Lucrum answers after its database was replaced by the backup.
    assert ds.get(f"http://127.0.0.1:{live_stack.base + 2}/health")[0] == 200


def test_the_launcher_says_when_make_run_is_not_running(tmp_path: Path) -> None:
    proc = _run("./avelar lucrum check-balances", tmp_path)
    assert proc.returncode == 2
    assert "make run" in proc.stderr and "Traceback" not in proc.stderr
