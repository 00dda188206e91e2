"""The ``serve``, ``backup`` and ``restore`` subcommands every module's CLI shares:

    <module> serve [--host H] [--port P] [--workers N] [--no-access-log] [--reload]
    <module> backup [--out FILE] [--dir DIR] [--prune-older-than-days N]
    <module> restore (FILE | --latest) [--clean]

A service adds them with ``add_ops_commands(subparsers)`` and dispatches with
``run_ops_command(name, args, settings, spec)``, which answers ``None`` for other commands.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from avelar_kit.db.roles import ensure_app_role
from avelar_kit.ops.backup import BackupError, backup, prune_backups, restore
from avelar_kit.ops.serve import serve, serve_options
from avelar_kit.settings import ServiceSettings

OPS_COMMANDS = ("serve", "backup", "restore")


@dataclass(frozen=True)
class ModuleSpec:
    module: str  # "StockTech": names backups and messages
    app: str  # import string of the app factory, "stocktech.main:create_app"
    migrations_dir: Path  # the module's Alembic scripts (revisions known to this code)


def add_ops_commands(sub: Any) -> None:
    """Add the shared subcommands to an ``argparse`` subparsers object."""
    p_serve = sub.add_parser("serve", help="run the API (the production start command)")
    p_serve.add_argument("--host", help="default <PREFIX>_HOST")
    p_serve.add_argument("--port", type=int, help="default <PREFIX>_PORT")
    p_serve.add_argument("--workers", type=int, help="uvicorn worker processes "
                         "(default <PREFIX>_WORKERS, 1)")
    p_serve.add_argument("--no-access-log", dest="access_log", action="store_false",
                         default=None, help="default <PREFIX>_ACCESS_LOG (on)")
    p_serve.add_argument("--reload", action="store_true", help="development only: one worker")

    p_backup = sub.add_parser("backup", help="pg_dump this module's database (custom format) "
                              "with its migration revision recorded")
    p_backup.add_argument("--out", type=Path, help="the dump file (default "
                          "<dir>/<module>-<UTC time>-<revision>.dump)")
    p_backup.add_argument("--dir", type=Path, help="default <PREFIX>_BACKUP_DIR (./backups)")
    p_backup.add_argument("--prune-older-than-days", type=int, metavar="N",
                          help="then delete this module's dumps in the folder older than N days")

    p_restore = sub.add_parser("restore", help="pg_restore a backup into this module's "
                               "(empty) database")
    what = p_restore.add_mutually_exclusive_group(required=True)
    what.add_argument("file", type=Path, nargs="?", help="a dump made by `backup`")
    what.add_argument("--latest", action="store_true",
                      help="the newest of this module's dumps in <PREFIX>_BACKUP_DIR")
    p_restore.add_argument("--clean", action="store_true",
                           help="drop the archive's objects first (replace a non-empty database)")


def run_ops_command(name: str, args: argparse.Namespace, settings: ServiceSettings,
                    spec: ModuleSpec) -> int | None:
    if name not in OPS_COMMANDS:
        return None
    if name == "serve":
        serve(spec.app, settings, serve_options(
            settings, host=args.host, port=args.port, workers=args.workers,
            access_log=args.access_log, reload=args.reload))
        return 0
    try:
        if name == "backup":
            return _backup(args, settings, spec)
        return _restore(args, settings, spec)
    except BackupError as exc:
        print(f"{spec.module}: {exc}", file=sys.stderr)
        return 1


def _backup(args: argparse.Namespace, settings: ServiceSettings, spec: ModuleSpec) -> int:
    folder = args.dir or settings.backup_dir
    if args.prune_older_than_days is not None and args.prune_older_than_days < 1:
        print("--prune-older-than-days must be at least 1", file=sys.stderr)
        return 2
    manifest = backup(settings.owner_database_url, spec.module, out=args.out, backup_dir=folder,
                      pg_bin_dir=settings.pg_bin_dir)
    print(f"{spec.module}: backup {folder if args.out is None else args.out.parent}/"
          f"{manifest.file} at revision {manifest.revision} ({manifest.bytes} bytes)")
    if args.prune_older_than_days is not None:
        removed = prune_backups(folder, spec.module, args.prune_older_than_days)
        print(f"{spec.module}: {len(removed)} backups older than "
              f"{args.prune_older_than_days} days deleted")
    return 0


def _restore(args: argparse.Namespace, settings: ServiceSettings, spec: ModuleSpec) -> int:
    if args.latest:
        dumps = sorted(settings.backup_dir.glob(f"{spec.module.lower()}-*.dump"),
                       key=lambda p: p.stat().st_mtime)
        if not dumps:
            raise BackupError(f"no {spec.module.lower()}-*.dump in {settings.backup_dir}")
        args.file = dumps[-1]
    revision, at_head = restore(settings.owner_database_url, args.file,
                                migrations_dir=spec.migrations_dir, clean=args.clean,
                                pg_bin_dir=settings.pg_bin_dir)
    # The archive carries no privileges (--no-privileges): the app role's grants again.
    ensure_app_role(settings.owner_database_url, settings.database_url)
    print(f"{spec.module}: restored {args.file} at revision {revision}")
    if not at_head:
        print(f"{spec.module}: older than this code's migrations; run "
              f"`{spec.module.lower()} migrate` before serving")
    return 0
