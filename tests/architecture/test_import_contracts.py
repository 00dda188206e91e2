"""The "production code imports no test library" contract covers every part of the kit but its
testing helpers: a new kit module cannot slip outside it."""

from __future__ import annotations

import pkgutil
import tomllib
from pathlib import Path

import avelar_kit

ROOT = Path(__file__).resolve().parents[2]


def test_every_kit_module_is_under_the_no_test_library_contract() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    covered: set[str] = set()
    for contract in contracts:
        if contract["type"] == "forbidden" and "pytest" in contract["forbidden_modules"]:
            covered |= set(contract["source_modules"])
    assert "avelar_kit" in covered  # the root, as a module
    for mod in pkgutil.iter_modules(avelar_kit.__path__):
        name = f"avelar_kit.{mod.name}"
        if mod.name == "testing":
            continue
        assert name in covered, f"{name} is outside the no-test-library contract"
