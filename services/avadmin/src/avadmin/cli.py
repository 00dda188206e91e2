"""`avadmin` command line: migrate, seed, create-operator, create-service-client, prune-outbox,
serve, backup, restore."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import secrets
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select

from avadmin.auth.models import Operator, ServiceClient
from avadmin.config import Settings
from avadmin.security.passwords import hash_password
from avadmin.security.scopes import KNOWN, unknown_fields
from avadmin.seed import demo_accounts, seed_demo, seed_plans
from avelar_kit.db.migrations import migrate as kit_migrate
from avelar_kit.db.session import Database
from avelar_kit.db.tenancy import act_as_system
from avelar_kit.jobs import run_locked
from avelar_kit.ops.cli import ModuleSpec, add_ops_commands, run_ops_command

SERVICE_DIR = Path(__file__).resolve().parents[2]
SPEC = ModuleSpec("AvAdmin", "avadmin.main:create_app", SERVICE_DIR / "migrations")


def migrate(settings: Settings) -> None:
    """As the owner (<PREFIX>_MIGRATION_DATABASE_URL), then the app role's grants
    (avelar_kit.db.roles.ensure_app_role for <PREFIX>_DATABASE_URL's role)."""
    kit_migrate(SERVICE_DIR, settings.owner_database_url, settings.database_url)


async def _seed(settings: Settings, demo: bool, out: Path | None) -> None:
    db = Database(settings.database_url, pool_size=2)
    try:
        async with db.sessionmaker() as session, session.begin():
            await act_as_system(session)  # the platform's work across companies
            if demo:
                created = await seed_demo(session)
            else:
                await seed_plans(session)
                created = []
        async with db.sessionmaker() as session:
            await act_as_system(session)  # the platform's work across companies
            accounts = await demo_accounts(session)
    finally:
        await db.dispose()
    for login in created:
        print(f"  Demo login · {login.company}: CPF {login.cpf}  senha {login.password}")
    if created and out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("".join(f"{c.company}\tCPF {c.cpf}\tsenha {c.password}\n"
                               for c in created))
        out.chmod(0o600)
    if demo:
        # Machine-readable for the other modules' demo data (no secrets in it).
        print(json.dumps({"demo_accounts": [
            {"account_id": a, "user_id": u, "company": n} for a, u, n in accounts]}))


async def _create_operator(settings: Settings, email: str, name: str, password: str) -> None:
    db = Database(settings.database_url, pool_size=2)
    try:
        async with db.sessionmaker() as session, session.begin():
            await act_as_system(session)  # the platform's work across companies
            email = email.strip().lower()
            existing = await session.scalar(select(Operator).where(Operator.email == email))
            if existing is not None:
                existing.password_hash = await hash_password(password)
                existing.full_name = name
                existing.is_active = True
            else:
                session.add(Operator(email=email, full_name=name,
                                     password_hash=await hash_password(password)))
    finally:
        await db.dispose()


async def _create_client(settings: Settings, client_id: str, name: str, secret: str,
                         fields: Sequence[str] = ()) -> None:
    db = Database(settings.database_url, pool_size=2)
    try:
        async with db.sessionmaker() as session, session.begin():
            await act_as_system(session)  # the platform's work across companies
            existing = await session.scalar(
                select(ServiceClient).where(ServiceClient.client_id == client_id))
            if existing is not None:
                existing.secret_hash = await hash_password(secret)
                existing.is_active = True
                existing.personal_fields = list(fields)
            else:
                session.add(ServiceClient(client_id=client_id, name=name,
                                          secret_hash=await hash_password(secret),
                                          personal_fields=list(fields)))
    finally:
        await db.dispose()


async def _job(settings: Settings, name: str) -> Any:
    """Run one scheduled job now, under the same advisory lock as the in-service timer."""
    from avadmin.jobs import DUNNING, PRUNE_OUTBOX, dunning, prune_outbox

    db = Database(settings.database_url, pool_size=1)
    try:
        fn = {DUNNING: lambda: dunning(db, settings),
              PRUNE_OUTBOX: lambda: prune_outbox(db, settings.outbox_retention_days)}[name]
        outcome = await run_locked(db.engine, name, fn)
        return outcome.result if outcome.ran else None
    finally:
        await db.dispose()


async def _prune_outbox(settings: Settings, days: int) -> int:
    result = await _job(settings.model_copy(update={"outbox_retention_days": days}),
                        "avadmin.prune-outbox")
    return int(result or 0)


def _read_secret(from_stdin: bool, prompt: str) -> str | None:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    return None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="avadmin", description="AvAdmin administration")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("migrate", help="apply database migrations")
    p_seed = sub.add_parser("seed", help="create the seed's plans (and demo companies)")
    p_seed.add_argument("--demo", action="store_true", help="also create demo companies")
    p_seed.add_argument("--credentials-file", type=Path,
                        help="also write new demo logins here (mode 600)")
    p_op = sub.add_parser("create-operator", help="create or reset a platform operator")
    p_op.add_argument("--email", required=True)
    p_op.add_argument("--name", required=True)
    p_op.add_argument("--password-stdin", action="store_true")
    p_cl = sub.add_parser("create-service-client",
                          help="create or reset a module's client credentials")
    p_cl.add_argument("client_id")
    p_cl.add_argument("--name")
    p_cl.add_argument("--secret-stdin", action="store_true",
                      help="read the secret from stdin instead of generating one")
    p_cl.add_argument("--fields", default="",
                      help="personal fields of the internal API it reads, comma-separated "
                           "(account.company_name,account.whatsapp for StockTech); "
                           "the others are null for it")
    p_prune = sub.add_parser("prune-outbox",
                             help="delete domain events published more than N days ago")
    p_prune.add_argument("--older-than-days", type=int, default=7)
    sub.add_parser("dunning", help="suspend companies unpaid past the grace period and apply "
                   "downgrades whose paid period ended (runs in the service too)")
    add_ops_commands(sub)
    return parser


def _cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    migrate(settings)
    return 0


def _cmd_seed(settings: Settings, args: argparse.Namespace) -> int:
    asyncio.run(_seed(settings, args.demo, args.credentials_file))
    return 0


def _cmd_create_operator(settings: Settings, args: argparse.Namespace) -> int:
    password = _read_secret(args.password_stdin, "Senha do operador: ")
    generated = password is None
    if password is None:
        password = secrets.token_urlsafe(12) + "9a"
    if len(password) < 10:
        print("a senha do operador deve ter pelo menos 10 caracteres", file=sys.stderr)
        return 2
    asyncio.run(_create_operator(settings, args.email, args.name, password))
    print(f"operator {args.email.strip().lower()} ready"
          + (f"; password: {password}" if generated else ""))
    return 0


def _cmd_prune_outbox(settings: Settings, args: argparse.Namespace) -> int:
    if args.older_than_days < 1:
        print("--older-than-days must be at least 1", file=sys.stderr)
        return 2
    deleted = asyncio.run(_prune_outbox(settings, args.older_than_days))
    print(f"{deleted} published events older than {args.older_than_days} days deleted")
    return 0


def _cmd_dunning(settings: Settings, args: argparse.Namespace) -> int:
    result = asyncio.run(_job(settings, "avadmin.dunning"))
    print(json.dumps(result if result is not None else {"skipped": "running elsewhere"}))
    return 0


def _cmd_create_service_client(settings: Settings, args: argparse.Namespace) -> int:
    secret = (sys.stdin.readline().strip() if args.secret_stdin
              else secrets.token_urlsafe(32))
    if len(secret) < 24:
        print("client secret must have at least 24 characters", file=sys.stderr)
        return 2
    fields = [f.strip() for f in args.fields.split(",") if f.strip()]
    if unknown_fields(fields):
        print(f"unknown fields: {', '.join(unknown_fields(fields))} "
              f"(known: {', '.join(sorted(KNOWN))})", file=sys.stderr)
        return 2
    asyncio.run(_create_client(settings, args.client_id, args.name or args.client_id, secret,
                               fields))
    if not args.secret_stdin:
        print(json.dumps({"client_id": args.client_id, "client_secret": secret}))
    else:
        print(f"service client {args.client_id} ready")
    return 0


_COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], int]] = {
    "migrate": _cmd_migrate,
    "seed": _cmd_seed,
    "create-operator": _cmd_create_operator,
    "prune-outbox": _cmd_prune_outbox,
    "dunning": _cmd_dunning,
    "create-service-client": _cmd_create_service_client,
}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = Settings()
    ops = run_ops_command(args.cmd, args, settings, SPEC)
    if ops is not None:
        return ops
    return _COMMANDS[args.cmd](settings, args)


if __name__ == "__main__":
    raise SystemExit(main())
