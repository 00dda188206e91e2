"""`stocktech` command line: migrate, seed, prune-idempotency, serve, backup, restore."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid
from pathlib import Path
from typing import Any

from avelar_kit.db.migrations import migrate as kit_migrate
from avelar_kit.db.session import Database
from avelar_kit.db.tenancy import act_as_system
from avelar_kit.jobs import run_locked
from avelar_kit.ops.cli import ModuleSpec, add_ops_commands, run_ops_command
from stocktech.config import Settings
from stocktech.seed import DEMO_PRODUCTS, seed_demo_products, seed_taxonomy
from stocktech.transactions.repository import IdempotencyRepository

SERVICE_DIR = Path(__file__).resolve().parents[2]
SPEC = ModuleSpec("StockTech", "stocktech.main:create_app", SERVICE_DIR / "migrations")


def migrate(settings: Settings) -> None:
    """As the owner (<PREFIX>_MIGRATION_DATABASE_URL), then the app role's grants
    (avelar_kit.db.roles.ensure_app_role for <PREFIX>_DATABASE_URL's role)."""
    kit_migrate(SERVICE_DIR, settings.owner_database_url, settings.database_url)


def _demo_accounts(args: argparse.Namespace) -> list[tuple[uuid.UUID, uuid.UUID, str | None]]:
    accounts: list[tuple[uuid.UUID, uuid.UUID, str | None]] = []
    if args.demo_account_id:
        user = args.demo_user_id or args.demo_account_id
        accounts.append((uuid.UUID(args.demo_account_id), uuid.UUID(user), args.demo_company))
    if args.demo_accounts:
        for item in json.loads(args.demo_accounts):
            accounts.append((uuid.UUID(item["account_id"]), uuid.UUID(item["user_id"]),
                             item.get("company")))
    if args.demo_accounts_json:
        raw = (sys.stdin.read() if args.demo_accounts_json == "-"
               else Path(args.demo_accounts_json).read_text())
        # The JSON line `avadmin seed --demo` prints; other lines around it are ignored.
        doc: dict[str, Any] = {}
        for line in raw.splitlines():
            line = line.strip()
            if line.startswith("{") and "demo_accounts" in line:
                doc = json.loads(line)
        for item in doc.get("demo_accounts", []):
            accounts.append((uuid.UUID(item["account_id"]), uuid.UUID(item["user_id"]),
                             item.get("company")))
    return accounts


async def _seed(settings: Settings, accounts: list[tuple[uuid.UUID, uuid.UUID, str | None]]
                ) -> None:
    db = Database(settings.database_url, pool_size=2)
    try:
        async with db.sessionmaker() as session, session.begin():
            await act_as_system(session)  # demo data of several companies
            cats, brands = await seed_taxonomy(session)
            print(f"categorias novas: {cats}, marcas novas: {brands}")
            # Spread the demo catalogue over the demo companies, so that each has something
            # to sell to the others.
            for i, (account_id, user_id, company) in enumerate(accounts):
                share = DEMO_PRODUCTS[i::len(accounts)]
                n = await seed_demo_products(session, account_id, user_id,
                                             company_name=company, products=share)
                print(f"produtos de demonstração para {company or account_id}: {n}")
    finally:
        await db.dispose()


PRUNE_JOB = "stocktech.prune-idempotency"


async def prune_idempotency(db: Database, settings: Settings) -> int:
    async with db.sessionmaker() as session, session.begin():
        await act_as_system(session)  # every company's old keys
        return await IdempotencyRepository(session).prune(settings.idempotency_retention_hours)


async def _prune(settings: Settings) -> int:
    # The same advisory lock as the in-service timer: a CronJob and a replica never overlap.
    db = Database(settings.database_url, pool_size=1)
    try:
        outcome = await run_locked(db.engine, PRUNE_JOB, lambda: prune_idempotency(db, settings))
        return int(outcome.result or 0)
    finally:
        await db.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stocktech", description="StockTech administration")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("migrate", help="apply database migrations")
    p_seed = sub.add_parser("seed", help="categories and brands (and demo products)")
    p_seed.add_argument("--demo-account-id", help="AvAdmin account id of a demo company")
    p_seed.add_argument("--demo-user-id", help="AvAdmin user id listing its products")
    p_seed.add_argument("--demo-company", help="the demo company's name")
    p_seed.add_argument("--demo-accounts", metavar="JSON",
                        help='the JSON list `avadmin seed --demo` prints: '
                        '[{"account_id", "user_id", "company"}]')
    p_seed.add_argument("--demo-accounts-json", metavar="FILE",
                        help="output of `avadmin seed --demo` ('-' for stdin)")
    sub.add_parser("prune-idempotency",
                   help="forget Idempotency-Keys older than STOCKTECH_IDEMPOTENCY_RETENTION_HOURS")
    add_ops_commands(sub)
    args = parser.parse_args(argv)
    settings = Settings()
    ops = run_ops_command(args.cmd, args, settings, SPEC)
    if ops is not None:
        return ops

    if args.cmd == "migrate":
        migrate(settings)
    elif args.cmd == "seed":
        asyncio.run(_seed(settings, _demo_accounts(args)))
    elif args.cmd == "prune-idempotency":
        print(f"chaves removidas: {asyncio.run(_prune(settings))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
