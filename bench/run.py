"""`make bench`: the three modules as production runs them, against a bare-stack reference.

1. Fresh databases ``bench_avadmin``, ``bench_stocktech``, ``bench_lucrum`` on the PostgreSQL of
   BENCH_DATABASE_URL / TEST_DATABASE_URL (default the machine's, 127.0.0.1:5432), migrated by
   the modules' own CLIs, then filled in bulk with COPY: 70 companies (20 sellers, 50 buyers),
   10,000 users, 100,000 products, 100,000 ledger rows. Redis: BENCH_REDIS_URL /
   TEST_REDIS_URL with database index 13 (flushed). The modules serve as the app role
   ``avelar_bench_app`` (row-level security applies) and migrate as the owner; the fill and the
   reference use the owner.
2. AvAdmin, StockTech and Lucrum started with uvicorn, access log off, ``BENCH_WORKERS``
   workers each (default 1), and ``bench/reference.py`` (Starlette + asyncpg) with the same.
3. Load from wrk (a separate process; ``make bench`` installs it from Debian when missing),
   each path for the project then for the reference, ``BENCH_ROUNDS`` rounds (default 3) of
   ``BENCH_DURATION`` seconds (default 10: the issue's own method; two rounds of 4 s moved the
   ratios near a target by 0.05 from run to run), 20 connections (50 for the purchase); pgbench runs
   the purchase's conditional UPDATE with 50 clients in the same rounds.
4. Then: a sell-out (50 buyers on a product with 100 units: sold must equal 100, the losers'
   409 p99), a login burst (20 concurrent logins, 3 times, with a probe of the health route
   every 25 ms), memory of each service idle and after the load, and the warm start of
   ``avelar-devstack run`` (issue 10: seconds until the three modules answer healthy).

Prints a table and writes ``bench/results/bench-<time>.json`` (not committed). Ratios are what
to compare between machines and runs; absolute figures move with the machine and its load.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import psutil

ROOT = Path(__file__).resolve().parent.parent
LUA = ROOT / "bench" / "wrk" / "load.lua"
RESULTS = ROOT / "bench" / "results"
PASSWORD = "bench-Senha-1234"  # noqa: S105 (a throwaway password of throwaway bench users)
SELLERS, BUYERS, USERS, PRODUCTS, LEDGER = 20, 50, 10_000, 100_000, 100_000
SELL_OUT = 100  # units of the sell-out product
RARE_WORD = "zirconita"
WORDS = ["Tela", "Bateria", "Conector", "Câmera", "Flex", "Carcaça", "Alto-falante", "Cabo",
         "Carregador", "Película", "Placa", "Fone", "Capa", "Chip", "Tampa", "Botão"]
MODELS = ["iPhone 11", "iPhone 13", "Galaxy A12", "Galaxy S20", "Moto G8", "Redmi Note 9",
          "Moto G20", "Galaxy A32", "iPhone XR", "Poco X3", "LG K62", "Zenfone 8"]


def say(msg: str) -> None:
    print(f"[bench] {msg}", flush=True)


# ----------------------------------------------------------------------------------- data --

def _cpf(n: int) -> str:
    from avelar_kit.br.cpf import compute_cpf_check_digits

    base = f"{(n * 7919 + 100_000_000) % 1_000_000_000:09d}"
    return base + compute_cpf_check_digits(base)


def _cnpj(n: int) -> str:
    from avelar_kit.br.cnpj import compute_cnpj_check_digits

    base = f"{n + 10_000_000:08d}0001"
    return base + compute_cnpj_check_digits(base)


# The modules' app role, one per server for the three bench databases (as the tests'
# avelar_test_app): created by the first `<module> migrate`, granted on each database.
BENCH_APP_ROLE = "avelar_bench_app"
BENCH_APP_PASSWORD = "avelar-bench-app"  # noqa: S105 (a local bench role's)


def app_role_url(owner_url: str) -> str:
    """The same database as the bench app role."""
    from sqlalchemy.engine import make_url

    return make_url(owner_url).set(username=BENCH_APP_ROLE, password=BENCH_APP_PASSWORD
                                   ).render_as_string(hide_password=False)


def with_db(url: str, name: str, driver: str = "") -> str:
    parts = urlsplit(url)
    scheme = "postgresql" + (f"+{driver}" if driver else "")
    return urlunsplit((scheme, parts.netloc, f"/{name}", parts.query, ""))


@dataclass
class Company:
    account_id: uuid.UUID
    admin_id: uuid.UUID
    cpf: str
    name: str
    token: str = ""


@dataclass
class World:
    sellers: list[Company] = field(default_factory=list)
    buyers: list[Company] = field(default_factory=list)
    user_ids: list[uuid.UUID] = field(default_factory=list)
    product_ids: list[uuid.UUID] = field(default_factory=list)
    hot_product: uuid.UUID | None = None
    # The reference's product creates go to a company of their own: under a buyer's they pushed
    # that buyer past its plan's 5,000 products, and the project's creates for it got 403.
    reference_account: uuid.UUID = field(default_factory=uuid.uuid4)
    sellout_product: uuid.UUID | None = None
    category_id: uuid.UUID | None = None
    brand_id: uuid.UUID | None = None
    bank_account_id: uuid.UUID | None = None
    service_token: str = ""
    ledger_from: date = date(2000, 1, 1)
    ledger_to: date = date(2000, 1, 1)


async def recreate_databases(server: str) -> None:
    conn = await asyncpg.connect(with_db(server, "postgres"))
    try:
        for name in ("bench_avadmin", "bench_stocktech", "bench_lucrum"):
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def module_roles(server: str) -> dict[str, list[str]]:
    """Which roles are connected to each bench database (the modules' app role, the
    reference's owner), and that the app role is neither superuser nor BYPASSRLS."""
    conn = await asyncpg.connect(with_db(server, "postgres"))
    try:
        rows = await conn.fetch(
            "SELECT DISTINCT datname, usename FROM pg_stat_activity "
            "WHERE datname LIKE 'bench\\_%' ORDER BY 1, 2")
        flags = await conn.fetchrow(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1", BENCH_APP_ROLE)
    finally:
        await conn.close()
    if flags is None or flags[0] or flags[1]:
        raise SystemExit(f"[bench] {BENCH_APP_ROLE} missing, superuser or BYPASSRLS")
    out: dict[str, list[str]] = {}
    for r in rows:
        out.setdefault(r[0], []).append(r[1])
    return out


def run_all(cmds: list[tuple[list[str], dict[str, str], str | None]]) -> list[str]:
    """Run module CLIs in parallel; stop the bench when one fails."""
    procs = []
    for args, env, stdin in cmds:
        p = subprocess.Popen([sys.executable, "-m", *args], env=env, text=True,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
        procs.append((args, p, stdin))
    outs = []
    for args, p, stdin in procs:
        out, _ = p.communicate(stdin)
        if p.returncode != 0:
            sys.stderr.write(out)
            raise SystemExit(f"[bench] failed: {' '.join(args[:2])}")
        outs.append(out)
    return outs


async def fill_avadmin(dsn: str, world: World) -> None:
    from avadmin.security.passwords import hash_password_sync

    pw_hash = hash_password_sync(PASSWORD)
    conn = await asyncpg.connect(dsn)
    try:
        plan_id, modules = await conn.fetchrow(
            "SELECT id, modules FROM plans WHERE name = 'Corporativo'")
        accounts = []
        companies: list[Company] = []
        for i in range(SELLERS + BUYERS):
            kind = "Vendedora" if i < SELLERS else "Compradora"
            name = f"Bench {kind} {i:02d} LTDA"
            c = Company(uuid.uuid4(), uuid.uuid4(), _cpf(i), name)
            companies.append(c)
            accounts.append((c.account_id, name, _cnpj(i), "+5511987654321", f"Responsável {i}",
                             plan_id, modules, "active", True))
        await conn.copy_records_to_table(
            "accounts", records=accounts,
            columns=["id", "company_name", "cnpj", "whatsapp", "responsible_name", "plan_id",
                     "enabled_modules", "status", "whatsapp_verified"])
        users = []
        for i in range(USERS):
            if i < len(companies):
                c = companies[i]
                uid, account, role, cpf = c.admin_id, c.account_id, "admin", c.cpf
            else:
                uid, account = uuid.uuid4(), companies[i % len(companies)].account_id
                role, cpf = "user", _cpf(i)
            world.user_ids.append(uid)
            users.append((uid, account, f"Usuária Bench {i}", cpf, "+5511987654321", pw_hash,
                          role, True, True))
        await conn.copy_records_to_table(
            "users", records=users,
            columns=["id", "account_id", "full_name", "cpf", "whatsapp", "password_hash",
                     "role", "whatsapp_verified", "is_active"])
        # As autovacuum leaves a table at rest: statistics and the visibility map (without it
        # every index-only scan of a fresh COPY visits the heap).
        await conn.execute("VACUUM ANALYZE")
        world.sellers, world.buyers = companies[:SELLERS], companies[SELLERS:]
    finally:
        await conn.close()


async def fill_stocktech(dsn: str, world: World) -> None:
    from stocktech.products.codes import make_code

    conn = await asyncpg.connect(dsn)
    try:
        await conn.copy_records_to_table(
            "known_accounts",
            records=[(c.account_id, c.name, "+5511987654321", "active", "Corporativo", 5000,
                      20000) for c in world.sellers + world.buyers]
            + [(world.reference_account, "Referência do bench", "+5511987654321", "active",
                "Corporativo", None, None)],
            columns=["account_id", "company_name", "whatsapp", "status", "plan_name",
                     "max_products", "max_transactions"])
        cats = [r[0] for r in await conn.fetch("SELECT id FROM categories ORDER BY name")]
        brands = [r[0] for r in await conn.fetch("SELECT id FROM brands ORDER BY name")]
        world.category_id, world.brand_id = cats[0], brands[0]
        rng = random.Random(10)
        now = datetime.now(UTC)
        rows = []
        for i in range(PRODUCTS):
            seller = world.sellers[i % SELLERS]
            word, model = WORDS[i % len(WORDS)], MODELS[(i // 7) % len(MODELS)]
            rare = f" {RARE_WORD}" if i % 5000 == 17 else ""
            pid = uuid.uuid4()
            stock = 1_000_000_000 if i == 0 else (SELL_OUT if i == 1 else rng.randrange(0, 200))
            rows.append((
                pid, seller.account_id, seller.admin_id, make_code(100_000 + i),
                f"Produto {word} {model}{rare} {i}",
                f"{word} compatível com {model}. Garantia de 90 dias.",
                cats[i % len(cats)], brands[i % len(brands)],
                Decimal(rng.randrange(500, 99_999)) / 100, stock,
                now - timedelta(seconds=rng.randrange(0, 365 * 86400)),
            ))
            if i < 2000:
                world.product_ids.append(pid)
        world.hot_product, world.sellout_product = rows[0][0], rows[1][0]
        await conn.copy_records_to_table(
            "products", records=rows,
            columns=["id", "account_id", "user_id", "code", "name", "description",
                     "category_id", "brand_id", "price", "stock_quantity", "created_at"])
        # As autovacuum leaves a table at rest: statistics and the visibility map (without it
        # every index-only scan of a fresh COPY visits the heap).
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


async def fill_lucrum(dsn: str, world: World) -> None:
    from lucrum.transactions.codes import make_code

    company = world.sellers[0].account_id
    conn = await asyncpg.connect(dsn)
    try:
        bank = await conn.fetchval(
            "SELECT id FROM bank_accounts WHERE account_id = $1 AND is_default", company)
        world.bank_account_id = bank
        today = datetime.now(UTC).date()
        world.ledger_from, world.ledger_to = today - timedelta(days=730), today
        rng = random.Random(11)
        taken = {r[0] for r in await conn.fetch("SELECT code FROM financial_transactions")}
        codes = (c for c in (make_code(10_000_000 + n) for n in range(LEDGER * 2))
                 if c not in taken)
        rows = []
        for i in range(LEDGER):
            kind = "income" if i % 3 else "expense"
            day = today - timedelta(days=rng.randrange(1, 730))
            # Entered on their own date: this month's plan quota counts only this month's.
            created = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
            rows.append((uuid.uuid4(), company, bank, next(codes),
                         f"Lançamento bench {i}", Decimal(rng.randrange(100, 500_000)) / 100,
                         kind, day, "manual", created))
        await conn.copy_records_to_table(
            "financial_transactions", records=rows,
            columns=["id", "account_id", "bank_account_id", "code", "description", "amount",
                     "type", "transaction_date", "source", "created_at"])
        # Keep the stored balance equal to opening balance + ledger (no drift).
        await conn.execute(
            "UPDATE bank_accounts b SET balance = b.opening_balance + COALESCE((SELECT sum("
            "CASE WHEN t.type IN ('income', 'transfer_in') THEN t.amount ELSE -t.amount END) "
            "FROM financial_transactions t WHERE t.bank_account_id = b.id), 0)")
        # As autovacuum leaves a table at rest: statistics and the visibility map (without it
        # every index-only scan of a fresh COPY visits the heap).
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


# ------------------------------------------------------------------------------ processes --

def free_port(preferred: int) -> int:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])


def serve_command(module: str, port: int, workers: int) -> list[str]:
    """The production start command (``<module>.cli serve``), access log off."""
    return [sys.executable, "-m", f"{module}.cli", "serve", "--host", "127.0.0.1",
            "--port", str(port), "--workers", str(workers), "--no-access-log"]


def reference_command(port: int, workers: int) -> list[str]:
    return [sys.executable, "-m", "uvicorn", "bench.reference:app", "--host", "127.0.0.1",
            "--port", str(port), "--no-access-log", "--log-level", "warning",
            "--workers", str(workers)]


def wait_ok(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 (loopback)
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"[bench] {url} did not answer 200")


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (uvicorn workers), in MB."""
    total = 0
    pids = [pid]
    try:
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True,
                             text=True, check=False).stdout
        pids += [int(x) for x in out.split()]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds (user + system) used so far by each named process with its children
    (uvicorn workers), and by the PostgreSQL server: every process named postgres, plus what
    the postmaster's exited children (backends a pool closed during the run) used, which the
    kernel adds to the postmaster's children times when it reaps them."""
    out: dict[str, float] = {}
    for name, pid in pids.items():
        total = 0.0
        try:
            root = psutil.Process(pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.Error:
            tree = []
        for proc in tree:
            try:
                times = proc.cpu_times()
            except psutil.Error:
                continue
            total += times.user + times.system
        out[name] = total
    every = [p.info for p in psutil.process_iter(["pid", "name", "ppid", "cpu_times"])]
    postgres = {i["pid"] for i in every if (i.get("name") or "").startswith("postgres")}
    pg = 0.0
    for info in every:
        times = info.get("cpu_times")
        if info["pid"] not in postgres or times is None:
            continue
        pg += times.user + times.system
        if info.get("ppid") not in postgres:  # the postmaster
            pg += times.children_user + times.children_system
    out["postgres"] = pg
    return out


def cpu_per_request(samples: list[tuple[dict[str, float], int]]) -> dict[str, float]:
    """Milliseconds of CPU per answered request, by process, over a side's rounds."""
    requests = sum(n for _, n in samples)
    names = {k for d, _ in samples for k in d}
    return {k: (1000 * sum(d.get(k, 0.0) for d, _ in samples) / requests if requests
                else float("nan")) for k in sorted(names)}


def http(method: str, url: str, body: Any = None, token: str | None = None,
         form: dict[str, str] | None = None, timeout: float = 30) -> tuple[int, Any]:
    headers = {}
    data = None
    if form is not None:
        data = "&".join(f"{k}={v}" for k, v in form.items()).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw)
        except ValueError:
            return exc.code, raw.decode(errors="replace")


# ------------------------------------------------------------------------------------ load --

@dataclass
class Run:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    statuses: dict[str, int]
    first_error: str = ""  # the status and start of the body of a first answer >= 400


def wrk(url_base: str, path_list: list[str], *, seconds: float, connections: int,
        method: str = "GET", tokens: list[str] | None = None, body: str | None = None) -> Run:
    env = dict(os.environ, WRK_METHOD=method, WRK_PATHS=" ".join(path_list),
               WRK_TOKENS=" ".join(tokens or []))
    if body is not None:
        env["WRK_BODY"] = body
    threads = min(2, connections)
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(seconds))}s",
           "--timeout", "10s", "-s", str(LUA), url_base]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, errors="replace",
                         check=False)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise SystemExit(f"[bench] wrk failed: {out.stdout}\n{out.stderr}")
    data = json.loads(line[len("WRKJSON "):])
    # wrk counts answers with a status >= 400 itself; the per-status split of load.lua is a
    # bonus (wrk does not copy every thread's table back on every build).
    statuses = {k: int(v) for k, v in data["statuses"].items()}
    if not statuses and data["requests"]:
        statuses = {"2xx/3xx": data["requests"] - data["status_errors"]}
        if data["status_errors"]:
            statuses[">=400"] = data["status_errors"]
    bad = data["status_errors"]
    none = float("nan")
    done = data["requests"] > 0
    return Run(data["requests"], data["duration_us"] / 1e6,
               data["p50_us"] / 1000 if done else none, data["p99_us"] / 1000 if done else none,
               bad + data["socket_errors"], statuses, data.get("first_error", ""))


def pgbench(dsn: str, product: uuid.UUID, seconds: float, clients: int) -> Run:
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write("UPDATE products SET stock_quantity = stock_quantity - 1 "
                f"WHERE id = '{product}' AND stock_quantity >= 1;\n")
        script = f.name
    try:
        out = subprocess.run(
            ["pgbench", "-n", "-c", str(clients), "-j", "2", "-T", str(max(1, int(seconds))),
             "-r", "-f", script, dsn], capture_output=True, text=True, check=False)
    finally:
        os.unlink(script)
    tps = lat = 0.0
    txs = 0
    for ln in out.stdout.splitlines():
        if ln.startswith("tps ="):
            tps = float(ln.split()[2])
        elif ln.startswith("latency average"):
            lat = float(ln.split()[3])
        elif ln.startswith("number of transactions actually processed"):
            txs = int(ln.split(":")[1].split("/")[0])
        elif ln.startswith("number of failed transactions"):
            pass
    if tps == 0:
        say(f"pgbench failed: {out.stdout[-400:]} {out.stderr[-400:]}")
    return Run(txs, txs / tps if tps else seconds, lat, float("nan"), 0, {})


PGBENCH_CLIENTS = 50
_FREE_SLOTS = ("current_setting('max_connections')::int "
               "- current_setting('superuser_reserved_connections')::int - count(*)")


def free_slots(server: str) -> int:
    """Connection slots left on the server for a client that is not a superuser."""
    async def read() -> int:
        conn = await asyncpg.connect(with_db(server, "postgres"))
        try:
            return int(await conn.fetchval(f"SELECT {_FREE_SLOTS} FROM pg_stat_activity "
                                           "WHERE backend_type = 'client backend'"))
        finally:
            await conn.close()
    return asyncio.run(read())


def settle(server: str, timeout: float = 30.0, free: int = 0) -> float:
    """Wait until no statement of the bench databases is running (requests that wrk gave up on
    are still being served after it stops), so that one path's backlog is not measured as the
    next path's slowness, and until ``free`` connection slots are left (pgbench's clients: the
    reference closes its idle connections after a second). Returns the seconds waited."""
    async def wait() -> float:
        conn = await asyncpg.connect(with_db(server, "postgres"))
        start = time.monotonic()
        try:
            while time.monotonic() - start < timeout:
                busy, left = await conn.fetchrow(
                    "SELECT count(*) FILTER (WHERE datname LIKE 'bench\\_%' "
                    f"AND state = 'active' AND pid <> pg_backend_pid()), {_FREE_SLOTS} "
                    "FROM pg_stat_activity WHERE backend_type = 'client backend'")
                if not busy and left >= free:
                    break
                await asyncio.sleep(0.1)
        finally:
            await conn.close()
        return time.monotonic() - start
    waited = asyncio.run(wait())
    time.sleep(0.3)  # and the processes' own queues
    return waited


@dataclass
class PathSpec:
    name: str
    project: dict[str, Any]
    reference: dict[str, Any]
    connections: int = 20


def summarise(runs: list[Run]) -> dict[str, Any]:
    req = sum(r.requests for r in runs)
    secs = sum(r.seconds for r in runs) or 1
    statuses: dict[str, int] = {}
    for r in runs:
        for k, v in r.statuses.items():
            statuses[k] = statuses.get(k, 0) + v
    return {"rps": req / secs, "p50_ms": statistics.median(r.p50_ms for r in runs),
            "p99_ms": statistics.median(r.p99_ms for r in runs),
            "errors": sum(r.errors for r in runs), "requests": req, "statuses": statuses,
            "first_error": next((r.first_error for r in runs if r.first_error), ""),
            "rounds": [r.__dict__ for r in runs]}


def start_profilers(names: str, procs: dict[str, subprocess.Popen[bytes]]
                    ) -> list[tuple[str, subprocess.Popen[bytes], Path]]:
    """py-spy on each named service (and its workers), 50 samples/s, collapsed stacks."""
    out = []
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    for name in (n.strip() for n in names.split(",") if n.strip()):
        path = RESULTS / f"profile-{name}-{stamp}.txt"
        p = subprocess.Popen([spy, "record", "--pid", str(procs[name].pid), "--subprocesses",
                              "--rate", "50", "--format", "raw", "--nonblocking",
                              "-o", str(path)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        out.append((name, p, path))
    return out


def stop_profilers(profilers: list[tuple[str, subprocess.Popen[bytes], Path]]) -> None:
    for name, p, path in profilers:
        p.send_signal(signal.SIGINT)
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
        say(f"profile of {name}: {path.relative_to(ROOT)} (bench/profile_top.py summarises it)")


def login_burst(avadmin: str, probe_path: str, cpfs: list[str], bursts: int = 3,
                size: int = 20) -> dict[str, Any]:
    """``size`` logins at once, ``bursts`` times, while a probe asks for ``probe_path`` every
    25 ms; the probe's latencies and failures (non-200 or > 2 s) are the point."""
    stop = threading.Event()
    probes: list[float] = []
    failed = 0

    def probe() -> None:
        nonlocal failed
        while not stop.is_set():
            t = time.perf_counter()
            try:
                with urllib.request.urlopen(avadmin + probe_path, timeout=2) as resp:  # noqa: S310
                    ok = resp.status == 200
            except OSError:
                ok = False
            probes.append(time.perf_counter() - t)
            failed += 0 if ok else 1
            time.sleep(0.025)

    def login(cpf: str) -> tuple[int, float]:
        t = time.perf_counter()
        status, _ = http("POST", f"{avadmin}/api/auth/login", {"cpf": cpf, "password": PASSWORD})
        return status, time.perf_counter() - t

    prober = threading.Thread(target=probe, daemon=True)
    prober.start()
    times: list[float] = []
    statuses: dict[str, int] = {}
    with concurrent.futures.ThreadPoolExecutor(size) as pool:
        for b in range(bursts):
            batch = cpfs[b * size:(b + 1) * size]
            for status, secs in pool.map(login, batch):
                times.append(secs)
                statuses[str(status)] = statuses.get(str(status), 0) + 1
            time.sleep(0.5)
    stop.set()
    prober.join()
    times.sort()
    probes.sort()
    return {
        "logins": len(times), "statuses": statuses,
        "login_p50_ms": times[len(times) // 2] * 1000,
        "login_p95_ms": times[max(0, int(len(times) * 0.95) - 1)] * 1000,
        "probe_path": probe_path, "probes": len(probes), "probe_failed": failed,
        "probe_p50_ms": probes[len(probes) // 2] * 1000 if probes else None,
        "probe_p99_ms": probes[max(0, int(len(probes) * 0.99) - 1)] * 1000 if probes else None,
    }


# ------------------------------------------------------------------------------ warm start --

DEVSTACK_UP = "Ctrl-C stops everything."  # `avelar-devstack run`'s last line once up
WARM_TARGET_S = 10.0  # issue 10: warm `make run` until the three modules answer healthy


def _devstack_base(preferred: int) -> int:
    """A port base where `make run` finds every port it takes free."""
    from avelar_devstack.cli import free_port_base

    base = free_port_base(range(preferred, preferred + 2000, 100))
    if base is None:
        raise SystemExit("[bench] warm start: no free ports")
    return base


def _all_healthy(urls: list[str]) -> bool:
    for url in urls:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 (loopback)
                if resp.status != 200:
                    return False
        except OSError:
            return False
    return True


def _devstack_once(home: Path, base: int, health: list[str] | None, timeout: float,
                   log: Path) -> tuple[float, float, list[str]]:
    """One `avelar-devstack run` (embedded PostgreSQL and Redis in ``home``): the seconds until
    its "up" line, and until every URL of ``health`` answers 200 (found on the first run when
    ``health`` is None: /health/live, else /health); stopped with SIGINT (Ctrl-C)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL") and not k.startswith("TEST_")
           and not k.startswith(("AVADMIN_", "STOCKTECH_", "LUCRUM_"))}
    lines: list[str] = []
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "avelar_devstack.cli", "run", "--home", str(home),
         "--port-base", str(base)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, cwd=ROOT)

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    up_s = healthy_s = float("nan")
    try:
        deadline = t0 + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            now = time.monotonic()
            if up_s != up_s and any(DEVSTACK_UP in ln for ln in lines):
                up_s = now - t0
            if health is None and up_s == up_s:
                # First run, once up: which health route the modules have.
                live = [f"http://127.0.0.1:{base + i}/health/live" for i in range(3)]
                health = live if _all_healthy(live) else [u.removesuffix("/live") for u in live]
            if health is not None and healthy_s != healthy_s and _all_healthy(health):
                healthy_s = now - t0
            if up_s == up_s and healthy_s == healthy_s:
                break
            time.sleep(0.05)
        if up_s != up_s or healthy_s != healthy_s:
            say("warm start: `avelar-devstack run` not up; its output:\n" + "\n".join(lines[-30:]))
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reader.join(timeout=10)
        with log.open("a") as f:
            # Not the demo logins (a CPF and a password each).
            f.write("\n".join(ln for ln in lines if "Demo login" not in ln) + "\n")
    return up_s, healthy_s, health or []


def warm_start(port_base: int) -> dict[str, Any]:
    """Issue 10's warm start: `avelar-devstack run` in a fresh home folder (embedded PostgreSQL
    and Redis, not under any pytest basetemp: the embedded server's own system user must
    traverse the folders above its data) once to create and migrate everything (the cold
    start), stopped with SIGINT once up; then again, timed from the start command until the
    three modules answer 200 on their health route."""
    tmp = Path(tempfile.mkdtemp(prefix="avelar-bench-devstack-"))
    tmp.chmod(0o755)
    home = tmp / "avelar"
    base = _devstack_base(port_base)
    log = tmp / "devstack.log"
    try:
        cold_up, cold_healthy, health = _devstack_once(home, base, None, 300, log)
        if health == [] or cold_up != cold_up:
            return {"error": "cold start not up", "cold_up_s": cold_up}
        time.sleep(1)
        warm_up, warm_healthy, _ = _devstack_once(home, base, health, 120, log)
        return {"warm_healthy_s": warm_healthy, "warm_up_line_s": warm_up,
                "cold_healthy_s": cold_healthy, "cold_up_line_s": cold_up,
                "health_path": urlsplit(health[0]).path, "target_s": WARM_TARGET_S,
                "port_base": base}
    finally:
        RESULTS.mkdir(parents=True, exist_ok=True)
        if log.exists():
            shutil.copy(log, RESULTS / "last-devstack.log")
        shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------------------------------------------ main --

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", "3")))
    parser.add_argument("--duration", type=float,
                        default=float(os.environ.get("BENCH_DURATION", "10")))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("BENCH_WORKERS", "1")))
    parser.add_argument("--port-base", type=int,
                        default=int(os.environ.get("BENCH_PORT_BASE", "15000")))
    parser.add_argument("--only", default=os.environ.get("BENCH_ONLY", ""),
                        help="comma-separated path names to measure (all when empty)")
    parser.add_argument("--profile", default=os.environ.get("BENCH_PROFILE", ""),
                        help="comma-separated services (avadmin, stocktech, lucrum) to sample "
                        "with py-spy during the load: collapsed stacks in bench/results")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("[bench] wrk is needed: apt-get install -y wrk (make bench does it)")
    started = time.monotonic()
    server = (os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
              or "postgresql://postgres@127.0.0.1:5432/postgres")
    redis_base = (os.environ.get("BENCH_REDIS_URL") or os.environ.get("TEST_REDIS_URL")
                  or "redis://127.0.0.1:6379/0")
    rp = urlsplit(redis_base)
    redis_url = urlunsplit((rp.scheme, rp.netloc, "/13", "", ""))
    import redis as redis_sync

    redis_sync.Redis.from_url(redis_url).flushdb()

    say("fresh databases, migrations")
    asyncio.run(recreate_databases(server))
    home = Path(tempfile.mkdtemp(prefix="avelar-bench-"))
    ports = {name: free_port(args.port_base + i)
             for i, name in enumerate(("avadmin", "stocktech", "lucrum", "reference"))}
    avadmin_url = f"http://127.0.0.1:{ports['avadmin']}"
    secrets_ = {name: uuid.uuid4().hex + uuid.uuid4().hex for name in ("stocktech", "lucrum",
                                                                        "bench")}
    base_env = {k: v for k, v in os.environ.items()
                if not k.startswith(("AVADMIN_", "STOCKTECH_", "LUCRUM_"))}
    # wrk is one address playing thousands of clients: the per-address abuse limits (ADR 0013)
    # would answer 429 to nearly all of it.
    base_env["AVELAR_ABUSE_LIMITS"] = "off"
    envs: dict[str, dict[str, str]] = {}
    for name in ("avadmin", "stocktech", "lucrum"):
        p = name.upper()
        env = dict(base_env)
        # As production: the module serves as the app role (owns nothing, no BYPASSRLS, so
        # row-level security applies) and migrates as the owner; `<module> migrate` creates and
        # grants the app role (avelar_kit.db.roles.ensure_app_role), as `make run` does.
        owner = with_db(server, f"bench_{name}", "asyncpg")
        env.update({f"{p}_DATABASE_URL": app_role_url(owner),
                    f"{p}_MIGRATION_DATABASE_URL": owner,
                    f"{p}_REDIS_URL": redis_url,
                    f"{p}_HOST": "127.0.0.1",
                    f"{p}_PORT": str(ports[name])})
        for setting in ("DB_POOL_SIZE", "DB_MAX_OVERFLOW"):
            if os.environ.get(f"BENCH_{setting}"):  # e.g. BENCH_DB_POOL_SIZE=20
                env[f"{p}_{setting}"] = os.environ[f"BENCH_{setting}"]
        if name == "avadmin":
            env["AVADMIN_SIGNING_KEY_FILE"] = str(home / "avadmin-ed25519.pem")
        else:
            env[f"{p}_AVADMIN_URL"] = avadmin_url
            env[f"{p}_AVADMIN_CLIENT_ID"] = name
            env[f"{p}_AVADMIN_CLIENT_SECRET"] = secrets_[name]
        envs[name] = env
    run_all([([f"{n}.cli", "migrate"], envs[n], None) for n in envs])
    world = World()
    say("data: companies, 10,000 users, 100,000 products, 100,000 ledger rows (COPY)")
    run_all([(["avadmin.cli", "seed"], envs["avadmin"], None),
             (["stocktech.cli", "seed"], envs["stocktech"], None)])
    asyncio.run(fill_avadmin(with_db(server, "bench_avadmin"), world))
    seller0 = world.sellers[0]
    run_all([(["avadmin.cli", "create-service-client", n, "--secret-stdin",
               *(["--fields", "account.company_name,account.whatsapp"] * (n == "stocktech"))],
              envs["avadmin"], secrets_[n] + "\n") for n in ("stocktech", "lucrum", "bench")]
            + [(["lucrum.cli", "seed", "--demo-accounts",
                 json.dumps([{"account_id": str(seller0.account_id), "company": seller0.name}])],
                envs["lucrum"], None)])
    asyncio.run(fill_stocktech(with_db(server, "bench_stocktech"), world))
    asyncio.run(fill_lucrum(with_db(server, "bench_lucrum"), world))
    setup_s = time.monotonic() - started

    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        say(f"starting the modules and the reference ({args.workers} worker(s) each)")
        logs = {n: (home / f"{n}.log").open("wb") for n in ("avadmin", "stocktech", "lucrum",
                                                                 "reference")}
        procs["avadmin"] = subprocess.Popen(
            serve_command("avadmin", ports["avadmin"], args.workers),
            env=envs["avadmin"], start_new_session=True, stdout=logs["avadmin"],
            stderr=subprocess.STDOUT)
        wait_ok(f"{avadmin_url}/health")
        for name in ("stocktech", "lucrum"):
            procs[name] = subprocess.Popen(
                serve_command(name, ports[name], args.workers),
                env=envs[name], start_new_session=True, stdout=logs[name],
                stderr=subprocess.STDOUT)
        ref_env = dict(base_env, BENCH_REF_REDIS_URL=redis_url,
                       BENCH_REF_AVADMIN_DSN=with_db(server, "bench_avadmin"),
                       BENCH_REF_STOCKTECH_DSN=with_db(server, "bench_stocktech"),
                       BENCH_REF_LUCRUM_DSN=with_db(server, "bench_lucrum"),
                       PYTHONPATH=str(ROOT))
        procs["reference"] = subprocess.Popen(
            reference_command(ports["reference"], args.workers), env=ref_env,
            start_new_session=True, stdout=logs["reference"], stderr=subprocess.STDOUT)
        urls = {n: f"http://127.0.0.1:{p}" for n, p in ports.items()}
        for name in ("stocktech", "lucrum"):
            wait_ok(f"{urls[name]}/health")
        wait_ok(f"{urls['reference']}/noop")
        live = http("GET", f"{avadmin_url}/health/live")[0] == 200
        health_path = "/health/live" if live else "/health"

        say("tokens: 70 logins, one service token")
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            def token_for(c: Company) -> None:
                status, body = http("POST", f"{avadmin_url}/api/auth/login",
                                    {"cpf": c.cpf, "password": PASSWORD})
                if status != 200:
                    raise SystemExit(f"[bench] login failed: {status} {body}")
                c.token = body["access_token"]
            list(pool.map(token_for, world.sellers + world.buyers))
        status, body = http("POST", f"{avadmin_url}/api/auth/service-token",
                            form={"grant_type": "client_credentials", "client_id": "bench",
                                  "client_secret": secrets_["bench"]})
        if status != 200:
            raise SystemExit(f"[bench] service token: {status} {body}")
        world.service_token = body["access_token"]
        buyer_tokens = [c.token for c in world.buyers]
        # Warm-up: every module's caches (JWKS, AvAdmin client) and pools.
        for c in world.buyers:
            status, body = http("GET", f"{urls['stocktech']}/api/products?page_size=1",
                                token=c.token)
            if status != 200:
                raise SystemExit(f"[bench] StockTech refuses the bench's tokens: {status} {body}")
        status, body = http("GET", f"{urls['lucrum']}/api/bank-accounts", token=seller0.token)
        if status != 200:
            raise SystemExit(f"[bench] Lucrum refuses the bench's tokens: {status} {body}")
        connected_as = asyncio.run(module_roles(server))
        for db in ("bench_avadmin", "bench_stocktech", "bench_lucrum"):
            if BENCH_APP_ROLE not in connected_as.get(db, []):
                raise SystemExit(f"[bench] no module connection to {db} as {BENCH_APP_ROLE}: "
                                 f"{connected_as}")
        time.sleep(1)
        memory_idle = {n: rss_mb(p.pid) for n, p in procs.items()}

        users = [str(u) for u in world.user_ids[:200]]
        products = [str(p) for p in world.product_ids[2:202]]
        create_body = json.dumps({
            "name": "Produto bench {n}", "description": "criado pelo bench",
            "category_id": str(world.category_id), "brand_id": str(world.brand_id),
            "price": "19.90", "stock_quantity": 5})
        ref_create = json.dumps({
            "account_id": str(world.reference_account),
            "user_id": str(uuid.uuid4()), "name": "Produto bench {n}",
            "description": "criado pelo bench", "category_id": str(world.category_id),
            "brand_id": str(world.brand_id), "price": "19.90", "stock_quantity": 5})
        purchase_body = json.dumps({"product_id": str(world.hot_product), "quantity": 1})
        flow = f"from={world.ledger_from}&to={world.ledger_to}"
        ledger_body = json.dumps({
            "bank_account_id": str(world.bank_account_id), "description": "Venda bench {n}",
            "amount": "12.34", "type": "income"})
        ref_ledger = json.dumps({
            "account_id": str(seller0.account_id), "bank_account_id": str(world.bank_account_id),
            "description": "Venda bench {n}", "amount": "12.34"})
        st, lu, av, ref = urls["stocktech"], urls["lucrum"], avadmin_url, urls["reference"]
        specs = [
            PathSpec("cheapest route (JWKS) vs no-op",
                     {"base": av, "paths": ["/.well-known/jwks.json"]},
                     {"base": ref, "paths": ["/noop"]}),
            PathSpec(f"{health_path} (AvAdmin)", {"base": av, "paths": [health_path]},
                     {"base": ref, "paths": ["/health"] if not live else ["/noop"]}),
            PathSpec("GET /api/users/{id} (service token)",
                     {"base": av, "paths": [f"/api/users/{u}" for u in users],
                      "tokens": [world.service_token]},
                     {"base": ref, "paths": [f"/users/{u}" for u in users]}),
            PathSpec("search q=Produto, 50 per page",
                     {"base": st, "paths": ["/api/products?q=Produto&page_size=50"],
                      "tokens": buyer_tokens},
                     {"base": ref, "paths": ["/search?q=Produto"]}),
            PathSpec(f"search q={RARE_WORD} (rare)",
                     {"base": st, "paths": [f"/api/products?q={RARE_WORD}&page_size=50"],
                      "tokens": buyer_tokens},
                     {"base": ref, "paths": [f"/search?q={RARE_WORD}"]}),
            PathSpec("product detail",
                     {"base": st, "paths": [f"/api/products/{p}" for p in products],
                      "tokens": buyer_tokens},
                     {"base": ref, "paths": [f"/products/{p}" for p in products]}),
            PathSpec("product create",
                     {"base": st, "paths": ["/api/products"], "tokens": buyer_tokens,
                      "method": "POST", "body": create_body},
                     {"base": ref, "paths": ["/products"], "method": "POST",
                      "body": ref_create}),
            PathSpec("purchase, 50 buyers on one product",
                     {"base": st, "paths": ["/api/transactions"], "tokens": buyer_tokens,
                      "method": "POST", "body": purchase_body},
                     {"base": ref, "paths": ["/purchase"], "method": "POST",
                      "body": purchase_body}, connections=50),
            PathSpec("cash-flow report, 100,000 rows",
                     {"base": lu, "paths": [f"/api/reports/cash-flow?{flow}"],
                      "tokens": [seller0.token]},
                     {"base": ref, "paths": [
                         f"/cash-flow?account_id={seller0.account_id}&{flow}"]}),
            PathSpec("Lucrum posting",
                     {"base": lu, "paths": ["/api/financial-transactions"],
                      "tokens": [seller0.token], "method": "POST", "body": ledger_body},
                     {"base": ref, "paths": ["/ledger"], "method": "POST",
                      "body": ref_ledger}),
        ]
        only = {s.strip() for s in args.only.split(",") if s.strip()}
        if only:
            specs = [s for s in specs if any(o in s.name for o in only)]
        runs: dict[str, dict[str, list[Run]]] = {s.name: {"project": [], "reference": []}
                                                  for s in specs}
        # Where each side's CPU goes (issue 10: the purchase's is spread over three modules and
        # the database): CPU seconds of each process over each load run, per request.
        watched = {"project": {n: procs[n].pid for n in ("avadmin", "stocktech", "lucrum")},
                   "reference": {"reference": procs["reference"].pid}}
        cpu: dict[str, dict[str, list[tuple[dict[str, float], int]]]] = {
            s.name: {"project": [], "reference": []} for s in specs}
        pg_runs: list[Run] = []
        pgbench_clients: list[int] = []
        st_dsn = with_db(server, "bench_stocktech")
        say(f"load: {len(specs)} paths x {args.rounds} round(s) x {args.duration:g} s, "
            "project and reference interleaved")
        profilers = start_profilers(args.profile, procs)
        for rnd in range(args.rounds):
            for spec in specs:
                for side in ("project", "reference"):
                    s = spec.project if side == "project" else spec.reference
                    before = cpu_seconds(watched[side])
                    run = wrk(s["base"], s["paths"], seconds=args.duration,
                              connections=spec.connections, method=s.get("method", "GET"),
                              tokens=s.get("tokens"), body=s.get("body"))
                    after = cpu_seconds(watched[side])
                    runs[spec.name][side].append(run)
                    cpu[spec.name][side].append(
                        ({k: after[k] - before[k] for k in after}, run.requests))
                    settle(server)
                if spec.name.startswith("purchase"):
                    settle(server, timeout=10.0, free=PGBENCH_CLIENTS + 2)
                    clients = min(PGBENCH_CLIENTS, free_slots(server) - 2)
                    if clients < PGBENCH_CLIENTS:
                        say(f"pgbench with {clients} clients: the modules' pools keep the "
                            "other connection slots of max_connections open")
                    pgbench_clients.append(clients)
                    pg_runs.append(pgbench(st_dsn, world.hot_product or uuid.uuid4(),
                                           args.duration, clients))
                    settle(server)
            say(f"round {rnd + 1} done")

        results: dict[str, Any] = {}
        for spec in specs:
            proj = summarise(runs[spec.name]["project"])
            refr = summarise(runs[spec.name]["reference"])
            results[spec.name] = {"project": proj, "reference": refr,
                                  "ratio": proj["rps"] / refr["rps"] if refr["rps"] else None,
                                  "cpu_ms_per_request": {
                                      side: cpu_per_request(cpu[spec.name][side])
                                      for side in ("project", "reference")}}
        if pg_runs:
            pg = summarise(pg_runs)
            name = "purchase, 50 buyers on one product"
            results[name]["pgbench"] = pg
            results[name]["pgbench_clients"] = min(pgbench_clients)
            results[name]["ratio_pgbench"] = (results[name]["project"]["rps"] / pg["rps"]
                                              if pg["rps"] else None)

        extra: dict[str, Any] = {}
        if not only or "sell-out" in only:
            say(f"sell-out: 50 buyers, {SELL_OUT} units")
            sell = wrk(st, ["/api/transactions"], seconds=max(5.0, args.duration),
                       connections=50, method="POST", tokens=buyer_tokens,
                       body=json.dumps({"product_id": str(world.sellout_product),
                                        "quantity": 1}))
            settle(server)

            async def sold() -> tuple[int, int]:
                conn = await asyncpg.connect(st_dsn)
                try:
                    stock = await conn.fetchval(
                        "SELECT stock_quantity FROM products WHERE id = $1", world.sellout_product)
                    n = await conn.fetchval(
                        "SELECT count(*) FROM transactions WHERE product_id = $1",
                        world.sellout_product)
                    return int(stock), int(n)
                finally:
                    await conn.close()
            stock_left, tx_rows = asyncio.run(sold())
            created = sell.statuses.get("201", sell.statuses.get("2xx/3xx", 0))
            extra["sell_out"] = {
                "units": SELL_OUT, "answered_201": created, "transactions": tx_rows,
                "stock_left": stock_left,
                "oversold": max(0, created - SELL_OUT, tx_rows - SELL_OUT, -stock_left),
                "answered_409": sell.statuses.get("409", sell.statuses.get(">=400", 0)),
                "statuses": sell.statuses,
                "p50_ms_mostly_409": sell.p50_ms, "p99_ms_mostly_409": sell.p99_ms}
        if not only or "login" in only:
            say("login burst: 3 x 20 concurrent logins, probing the health route")
            cpfs = [_cpf(i) for i in range(SELLERS + BUYERS, SELLERS + BUYERS + 60)]
            extra["login_burst"] = login_burst(avadmin_url, health_path, cpfs)
        # The profiles cover the sell-out and the login burst too (``--only login`` profiles
        # just the burst).
        stop_profilers(profilers)
        time.sleep(1)
        memory_after = {n: rss_mb(p.pid) for n, p in procs.items()}
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGINT)
        for proc in procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        # The services' own logs (INFO, no access lines: `serve --no-access-log`, as the issue
        # measures production's start command): errors are summarised, the files kept next to
        # the results.
        RESULTS.mkdir(parents=True, exist_ok=True)
        for log in home.glob("*.log"):
            text = log.read_text(errors="replace")
            errors = [ln for ln in text.splitlines() if " ERROR" in ln or "Traceback" in ln]
            if errors:
                say(f"{log.stem}: {len(errors)} error line(s) in its log, e.g. {errors[0][:160]}")
            shutil.copy(log, RESULTS / f"last-{log.name}")
        shutil.rmtree(home, ignore_errors=True)

    if not only or "warm-start" in only:
        # After the load, the bench's services stopped: the warm start has the machine alone.
        say("warm start: `avelar-devstack run` cold, Ctrl-C, then warm until healthy")
        extra["warm_start"] = warm_start(args.port_base + 100)

    report = {
        "when": datetime.now(UTC).isoformat(), "host_cpus": os.cpu_count(),
        "load_1m": os.getloadavg()[0],
        "roles": {"modules": f"{BENCH_APP_ROLE} (app role: owns nothing, no BYPASSRLS, "
                             "row-level security applies); migrations as the owner",
                  "reference": f"{urlsplit(server).username or 'postgres'} (the owner)",
                  "data_fill": "the owner (COPY)", "connected": connected_as},
        "workers": args.workers, "rounds": args.rounds, "duration_s": args.duration,
        "setup_s": setup_s, "total_s": time.monotonic() - started, "paths": results,
        "memory_mb": {"idle": memory_idle, "after_load": memory_after}, **extra,
    }
    print_report(report)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"bench-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(report, indent=2, default=str))
    say(f"results: {out.relative_to(ROOT)}")
    return 0


def _f(value: Any, fmt: str = ".1f") -> str:
    return "n/a" if value is None or value != value else format(value, fmt)


def print_report(r: dict[str, Any]) -> None:
    print()
    print(f"{'path':<40} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'err':>5} | "
          f"{'ref req/s':>9} {'ref p50':>8} {'ref p99':>8} {'err':>5} | {'ratio':>6}")
    print("-" * 118)
    for name, d in r["paths"].items():
        p, f = d["project"], d["reference"]
        print(f"{name:<40} {p['rps']:>8.1f} {_f(p['p50_ms']):>8} {_f(p['p99_ms']):>8} "
              f"{p['errors']:>5} | {f['rps']:>9.1f} {_f(f['p50_ms']):>8} {_f(f['p99_ms']):>8} "
              f"{f['errors']:>5} | "
              f"{_f(d['ratio'], '.3f'):>6}")
        if "pgbench" in d:
            g = d["pgbench"]
            label = f"  vs pgbench conditional UPDATE, {d.get('pgbench_clients', 50)} clients"
            print(f"{label:<40} {'':>8} {'':>8} "
                  f"{'':>8} {'':>5} | {g['rps']:>9.0f} {g['p50_ms']:>8.1f} {'(avg)':>8} "
                  f"{'':>5} | "
                  f"{_f(d['ratio_pgbench'], '.3f'):>6}")
    print(f"\nCPU ms per request (during the load, so work a request leaves to consumers "
          f"counts too)\n{'path':<40} {'avadmin':>8} {'stocktech':>9} {'lucrum':>8} "
          f"{'postgres':>8} | {'reference':>9} {'postgres':>8}")
    for name, d in r["paths"].items():
        c = d.get("cpu_ms_per_request")
        if not c:
            continue
        p, f = c["project"], c["reference"]
        print(f"{name:<40} {_f(p.get('avadmin'), '.2f'):>8} {_f(p.get('stocktech'), '.2f'):>9} "
              f"{_f(p.get('lucrum'), '.2f'):>8} {_f(p.get('postgres'), '.2f'):>8} | "
              f"{_f(f.get('reference'), '.2f'):>9} {_f(f.get('postgres'), '.2f'):>8}")
    for name, d in r["paths"].items():
        for side in ("project", "reference"):
            if d[side].get("first_error"):
                print(f"  {name}, {side}: first error answer {d[side]['first_error'][:160]}")
    if "sell_out" in r:
        s = r["sell_out"]
        print(f"\nsell-out: {s['units']} units, {s['answered_201']} answered 201 to wrk, "
              f"{s['transactions']} transaction rows, stock left {s['stock_left']}, "
              f"oversold {s['oversold']}; {s['answered_409']} answered 409 (or other >= 400), "
              f"p99 {_f(s['p99_ms_mostly_409'])} ms")
    if "login_burst" in r:
        lb = r["login_burst"]
        print(f"login burst: {lb['logins']} logins {lb['statuses']}, p50 "
              f"{_f(lb['login_p50_ms'], '.0f')} ms, p95 {_f(lb['login_p95_ms'], '.0f')} ms; "
              f"{lb['probe_path']} meanwhile: {lb['probes']} probes, {lb['probe_failed']} failed, "
              f"p99 {_f(lb['probe_p99_ms'])} ms")
    if "warm_start" in r:
        w = r["warm_start"]
        if "error" in w:
            print(f"warm start: {w['error']} (bench/results/last-devstack.log)")
        else:
            print(f"warm start: {_f(w['warm_healthy_s'])} s until the three modules answer "
                  f"{w['health_path']} 200 (target <= {w['target_s']:g} s; 'up' line at "
                  f"{_f(w['warm_up_line_s'])} s); cold start {_f(w['cold_healthy_s'])} s")
    mem = r["memory_mb"]
    print("memory (MB RSS) idle -> after load: " + ", ".join(
        f"{n} {mem['idle'][n]:.0f} -> {mem['after_load'][n]:.0f}" for n in mem["idle"]))
    print(f"setup {r['setup_s']:.0f} s, whole run {r['total_s']:.0f} s, "
          f"{r['workers']} worker(s) per service, {r['host_cpus']} CPUs")


if __name__ == "__main__":
    raise SystemExit(main())
