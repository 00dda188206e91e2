"""ADR 0020 / ADR 0023: the lean reads' pool (``Database.lean_engine``) acts as the platform on
every connection, so nothing but the kit's lean reads may check it out."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "libs", ROOT / "services", ROOT / "examples", ROOT / "tools"]
ALLOWED = {
    "libs/avelar_kit/src/avelar_kit/db/session.py",  # where it is made
    "libs/avelar_kit/src/avelar_kit/lean.py",  # its one user
}


def test_only_the_lean_reads_use_the_platform_pool() -> None:
    users = {str(path.relative_to(ROOT)) for base in SOURCES for path in base.rglob("*.py")
             if ".venv" not in path.parts and "tests" not in path.parts
             and "lean_engine" in path.read_text()}
    assert users == ALLOWED
