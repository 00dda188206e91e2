"""``lucrum migrate | seed | check-balances | serve | backup | restore``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid
from pathlib import Path

from avelar_kit.db.migrations import migrate as kit_migrate
from avelar_kit.db.session import Database
from avelar_kit.db.tenancy import act_as_system, act_for_company
from avelar_kit.ops.cli import ModuleSpec, add_ops_commands, run_ops_command
from lucrum.bank_accounts.repository import BankAccountRepository
from lucrum.config import Settings
from lucrum.seed import seed_company

SERVICE_DIR = Path(__file__).resolve().parents[2]
SPEC = ModuleSpec("Lucrum", "lucrum.main:create_app", SERVICE_DIR / "migrations")


def migrate(settings: Settings) -> None:
    """As the owner (<PREFIX>_MIGRATION_DATABASE_URL), then the app role's grants
    (avelar_kit.db.roles.ensure_app_role for <PREFIX>_DATABASE_URL's role)."""
    kit_migrate(SERVICE_DIR, settings.owner_database_url, settings.database_url)


async def _seed(settings: Settings, companies: list[tuple[uuid.UUID, str]]) -> None:
    db = Database(settings.database_url, pool_size=2)
    try:
        for company, name in companies:
            async with db.sessionmaker() as session, session.begin():
                await act_for_company(session, company)
                created = await seed_company(session, company)
            label = f"{name} ({company})" if name else str(company)
            print(f"  Lucrum: {'demo accounts and entries for' if created else 'already seeded:'}"
                  f" {label}")
    finally:
        await db.dispose()


async def _check_balances(settings: Settings) -> int:
    db = Database(settings.database_url, pool_size=2)
    try:
        async with db.sessionmaker() as session:
            await act_as_system(session)  # every company's ledger
            bank_accounts = BankAccountRepository(session)
            drift = await bank_accounts.all_drift()
            total = await bank_accounts.count_all()
    finally:
        await db.dispose()
    for company, bank_account, balance, computed in drift:
        print(f"DRIFT company={company} bank_account={bank_account} balance={balance} "
              f"opening+ledger={computed} difference={balance - computed}")
    print(f"{total} bank accounts checked, {len(drift)} with drift")
    return 1 if drift else 0


def _companies(args: argparse.Namespace) -> list[tuple[uuid.UUID, str]]:
    companies = [(uuid.UUID(a), "") for a in args.account_id or []]
    if args.demo_accounts:
        for item in json.loads(args.demo_accounts):
            companies.append((uuid.UUID(item["account_id"]), str(item.get("company", ""))))
    return companies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lucrum", description="Lucrum administration")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply the database migrations")
    seed = sub.add_parser("seed", help="demo bank accounts and a few months of entries")
    seed.add_argument("--account-id", action="append",
                      help="AvAdmin account id of a demo company (repeatable)")
    seed.add_argument("--demo-accounts",
                      help='JSON list from `avadmin seed --demo`: [{"account_id", "company"}]')
    sub.add_parser("check-balances",
                   help="recompute every balance from opening balance + ledger; exit 1 on drift")
    add_ops_commands(sub)
    args = parser.parse_args(argv)
    settings = Settings()
    ops = run_ops_command(args.command, args, settings, SPEC)
    if ops is not None:
        return ops
    if args.command == "migrate":
        migrate(settings)
        return 0
    if args.command == "seed":
        companies = _companies(args)
        if not companies:
            parser.error("seed needs --account-id or --demo-accounts")
        asyncio.run(_seed(settings, companies))
        return 0
    return asyncio.run(_check_balances(settings))


if __name__ == "__main__":
    sys.exit(main())
