"""``./avelar MODULE COMMAND [ARGS...]``: a module's own command line (``avadmin``,
``stocktech``, ``lucrum``) with the settings of the stack `make run` is serving, read from
``.avelar/stack.env`` (written by the dev stack while it runs, mode 600). So the README's
operator commands work on a fresh clone: no uv on PATH, no database URL to know."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

MODULES = ("avadmin", "stocktech", "lucrum")


def stack_env(path: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            parts = shlex.split(value)
            env[key.strip()] = parts[0] if parts else ""
    return env


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] not in MODULES:
        print(f"usage: ./avelar {{{','.join(MODULES)}}} COMMAND [ARGS...]  "
              "(./avelar avadmin --help lists AvAdmin's commands)", file=sys.stderr)
        return 2
    root = Path(os.environ.get("AVELAR_ROOT", "."))
    home = Path(os.environ.get("AVELAR_HOME", root / ".avelar"))
    if not home.is_absolute():
        home = root / home
    settings = home / "stack.env"
    if not settings.exists() and args[1:2] not in (["--help"], ["-h"]):
        print(f"no running `make run` ({settings} is missing): start it in another terminal "
              "first, or run .venv/bin/" + args[0] + " with your own settings", file=sys.stderr)
        return 2
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AVADMIN_", "STOCKTECH_", "LUCRUM_")) and k != "NEON_DATABASE_URL"}
    if settings.exists():
        env.update(stack_env(settings))
    os.execve(sys.executable, [sys.executable, "-m", f"{args[0]}.cli", *args[1:]], env)  # noqa: S606
    return 0  # not reached


if __name__ == "__main__":
    raise SystemExit(main())
