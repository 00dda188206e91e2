"""Demo data and client registration for `make run`, in ONE process (``python -m
avelar_devstack.demo``): AvAdmin's plans and demo companies, the modules' client credentials,
then StockTech's and Lucrum's demo data for those companies. It calls each module's own
command line (``<module>.cli.main``) with the arguments the README documents, so it does
exactly what those commands do, without paying a Python start per command.

Input on stdin (JSON, it carries the client secrets): ``{"credentials_file": path,
"secrets": {"stocktech": ..., "lucrum": ...}, "modules": ["avadmin", "stocktech", ...]}``. The
environment holds every module's prefixed settings (their prefixes differ).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import sys
from typing import Any


def _call(package: str, argv: list[str], stdin: str = "") -> str:
    cli: Any = importlib.import_module(f"{package}.cli")
    out = io.StringIO()
    old_stdin = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        with contextlib.redirect_stdout(out):
            code = cli.main(argv)
    finally:
        sys.stdin = old_stdin
    if code:
        sys.stdout.write(out.getvalue())
        raise SystemExit(f"[make run] failed: {package} {argv[0]} (exit {code})")
    return out.getvalue()


def run(spec: dict[str, Any]) -> None:
    out = _call("avadmin", ["seed", "--demo", "--credentials-file", spec["credentials_file"]])
    demo: list[dict[str, str]] = []
    for line in out.splitlines():
        if line.startswith("{"):
            demo = json.loads(line)["demo_accounts"]
        elif "Demo login" in line:
            print(line, flush=True)
    if "Demo login" not in out:
        print(f"[make run] demo data already present; the first run's logins are in "
              f"{spec['credentials_file']}", flush=True)
    for name in ("stocktech", "lucrum"):
        if name not in spec["modules"]:
            continue
        # StockTech reads the seller company's name and WhatsApp; Lucrum nothing personal.
        fields = ["--fields", "account.company_name,account.whatsapp"] * (name == "stocktech")
        _call("avadmin", ["create-service-client", name, "--secret-stdin", *fields],
              stdin=spec["secrets"][name] + "\n")
        _call(name, ["seed", "--demo-accounts", json.dumps(demo)])


def main() -> int:
    run(json.loads(sys.stdin.read()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
