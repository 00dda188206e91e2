"""Summarise a py-spy collapsed-stack file (``make bench`` with BENCH_PROFILE=...).

``python bench/profile_top.py FILE [N]``: the share of samples in which each function appears
(inclusive) and where the samples end (self), top N, plus a few groups that matter for a
request: our code, SQLAlchemy, asyncpg, pydantic, FastAPI/Starlette, JWT, argon2, the event
loop idle.
"""

from __future__ import annotations

import collections
import sys

GROUPS = {
    "sqlalchemy": "sqlalchemy/",
    "asyncpg": "asyncpg/",
    "pydantic": "pydantic",
    "fastapi": "fastapi/",
    "starlette": "starlette/",
    "jwt/crypto": "jwt/",
    "redis": "redis/",
    "argon2": "argon2",
    "uvicorn/h11/httptools": "uvicorn/",
    "avelar code": ("avelar_kit/", "avadmin/", "stocktech/", "lucrum/"),
}


def main(path: str, top: int = 25) -> None:
    inclusive: collections.Counter[str] = collections.Counter()
    self_: collections.Counter[str] = collections.Counter()
    groups: collections.Counter[str] = collections.Counter()
    total = 0
    idle = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not stack or not count.isdigit():
                continue  # a line py-spy cut short (its process ended mid-write)
            n = int(count)
            frames = stack.split(";")
            total += n
            leaf = frames[-1]
            if "select" in leaf and ("selectors" in leaf or "epoll" in leaf):
                idle += n
            self_[leaf] += n
            for fr in set(frames):
                inclusive[fr] += n
            for g, needle in GROUPS.items():
                needles = needle if isinstance(needle, tuple) else (needle,)
                if any(any(nd in fr for nd in needles) for fr in frames):
                    groups[g] += n
    if not total:
        print("no samples")
        return
    print(f"{total} samples; event loop idle (waiting in select/epoll) {100 * idle / total:.1f} %")
    print("\ngroups (inclusive):")
    for g, n in groups.most_common():
        print(f"  {100 * n / total:5.1f} %  {g}")
    print(f"\ntop {top} self:")
    for fr, n in self_.most_common(top):
        print(f"  {100 * n / total:5.1f} %  {fr}")
    print(f"\ntop {top} inclusive:")
    for fr, n in inclusive.most_common(top):
        print(f"  {100 * n / total:5.1f} %  {fr}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 25)
