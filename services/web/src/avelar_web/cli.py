"""``avelar-web serve [--host H] [--port P] [--workers N] [--no-access-log]``: the portal."""

from __future__ import annotations

import argparse

from avelar_kit.ops.serve import serve, serve_options
from avelar_web.config import get_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="avelar-web")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("serve", help="run the portal")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--workers", type=int)
    p.add_argument("--no-access-log", dest="access_log", action="store_false", default=None)
    args = parser.parse_args(argv)
    settings = get_settings()
    serve("avelar_web.main:create_app", settings,
          serve_options(settings, host=args.host, port=args.port, workers=args.workers,
                        access_log=args.access_log))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
