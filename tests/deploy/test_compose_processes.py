"""The compose file's environment, run without Docker: each job and each backend of
deploy/compose.yaml as a separate process with that service's environment and command, only the
hostnames mapped to this machine (avadmin-backend, postgres-*, redis -> the test servers) and
the ports to free ones. StockTech and Lucrum find AvAdmin through the seed's AVADMIN_API_URL:
a user token issued by AvAdmin is verified by them (JWKS) and their reads of AvAdmin's
internal API pass with the client credentials the avadmin-setup job registered."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import deploy_data as dd
import pytest
from sqlalchemy.engine import make_url

from avelar_devstack.embedded import drop_database, ensure_database, with_database

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _map_url(value: str, hosts: dict[str, str], pg_url: str, databases: dict[str, str],
             redis_url: str) -> str:
    """postgres-<module> -> the test server's database for that module, redis -> the test
    Redis, avadmin-backend:8000 -> 127.0.0.1:<free port>."""
    for service, database in databases.items():
        if f"@{service}:" in value:
            url = make_url(with_database(pg_url, database))
            # The app role (<module>_app) keeps its name: the migrate job creates it on the
            # test server; the owner (POSTGRES_USER) is the test server's own user.
            user = make_url(value).username or ""
            if user.endswith("_app"):
                url = url.set(username=user, password=make_url(value).password)
            return url.set(drivername="postgresql").render_as_string(hide_password=False)
    if value.startswith("redis://redis:"):
        return redis_url
    for host, target in hosts.items():
        value = value.replace(host, target)
    return value


@pytest.fixture(scope="module")
def compose_env(pg_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[dict[str, Any]]:
    run = uuid.uuid4().hex[:8]
    databases = {f"postgres-{m}": f"deploy_{run}_{m}" for m in ("avadmin", "stocktech", "lucrum")}
    for name in databases.values():
        ensure_database(with_database(pg_url, name))
    ports = {name: _free_port() for name in dd.BACKENDS}
    hosts = {f"http://{name}:{port}": f"http://127.0.0.1:{ports[name]}"
             for name, port in dd.BACKENDS.items()}
    example = dd.env_example()
    example.update({k: f"test-{uuid.uuid4().hex}" for k in example if k.endswith("_SECRET")})
    example["NEON_DATABASE_URL"] = ""  # the local postgres-avadmin path of the compose file
    compose = dd.load_compose(example)
    keys = tmp_path_factory.mktemp("keys")
    envs: dict[str, dict[str, str]] = {}
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("AVADMIN_", "STOCKTECH_", "LUCRUM_", "TEST_"))}
    base["PATH"] = f"{BIN}{os.pathsep}{base.get('PATH', '')}"
    for name in dd.COMPOSE_MODULE:
        env = {k: _map_url(str(v), hosts, pg_url, databases, redis_url)
               for k, v in compose["services"][name]["environment"].items()}
        prefix = dd.COMPOSE_MODULE[name].upper()
        if name in dd.BACKENDS:
            env[f"{prefix}_PORT"] = str(ports[name])
        if "AVADMIN_SIGNING_KEY_FILE" in env:
            env["AVADMIN_SIGNING_KEY_FILE"] = str(keys / "avadmin-ed25519.pem")
        # This test shares the machine's Redis with other runs: no event workers here (the
        # streams are another test's subject), and no access log noise.
        env.update({"AVADMIN_EVENTS_RELAY_ENABLED": "false", f"{prefix}_EVENTS_ENABLED": "false",
                    f"{prefix}_WORKERS": "1"})
        envs[name] = {**base, **env}
    try:
        yield {"compose": compose, "envs": envs, "ports": ports}
    finally:
        for name in databases.values():
            drop_database(with_database(pg_url, name))


def _command(compose: dict[str, Any], name: str) -> list[str]:
    service = compose["services"][name]
    entrypoint = service.get("entrypoint") or [dd.COMPOSE_MODULE[name]]
    return [*entrypoint, *service["command"]]


def _job(compose_env: dict[str, Any], name: str) -> str:
    proc = subprocess.run(_command(compose_env["compose"], name),  # noqa: S603
                          env=compose_env["envs"][name], capture_output=True, text=True,
                          timeout=180, check=False)
    assert proc.returncode == 0, (name, proc.stdout, proc.stderr)
    return proc.stdout


def _get(url: str, token: str | None = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers),  # noqa: S310
                                    timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _post(url: str, body: dict[str, Any]) -> tuple[int, Any]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(),  # noqa: S310
                                 headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 (loopback)
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _wait_health(port: int, procs: dict[str, subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for name, proc in procs.items():
            assert proc.poll() is None, f"{name} exited with {proc.returncode}"
        try:
            if _get(f"http://127.0.0.1:{port}/health")[0] in (200, 503):
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"nothing answers on {port}")


@pytest.mark.slow
def test_the_compose_services_find_each_other_through_avadmin_api_url(
        compose_env: dict[str, Any]) -> None:
    compose, envs, ports = compose_env["compose"], compose_env["envs"], compose_env["ports"]
    assert envs["stocktech-backend"]["AVADMIN_API_URL"] == \
        f"http://127.0.0.1:{ports['avadmin-backend']}"
    assert not any(k.endswith("_AVADMIN_URL") for k in envs["stocktech-backend"])
    for job in ("avadmin-migrate", "avadmin-setup", "stocktech-migrate", "lucrum-migrate"):
        _job(compose_env, job)
    # Test data only (not in the compose file): the demo companies and their logins.
    out = subprocess.run([str(BIN / "avadmin"), "seed", "--demo"],  # noqa: S603
                         env=envs["avadmin-backend"], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    match = re.search(r"CPF (\d{11})\s+senha (\S+)", out)
    assert match is not None, out
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name in dd.BACKENDS:
            procs[name] = subprocess.Popen(_command(compose, name),  # noqa: S603
                                           env=envs[name])
        for name in dd.BACKENDS:
            _wait_health(ports[name], procs)
        avadmin = f"http://127.0.0.1:{ports['avadmin-backend']}"
        status, tokens = _post(f"{avadmin}/api/auth/login",
                               {"cpf": match.group(1), "password": match.group(2)})
        assert status == 200, tokens
        token = tokens["access_token"]
        for name, path in (("stocktech-backend", "/api/products?mine=true"),
                           ("lucrum-backend", "/api/bank-accounts")):
            status, body = _get(f"http://127.0.0.1:{ports[name]}{path}", token)
            assert status == 200, (name, body)
            status, health = _get(f"http://127.0.0.1:{ports[name]}/health")
            assert health["avadmin_api"] == "reachable", (name, health)
    finally:
        for proc in procs.values():
            proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
