"""Issue 9 point 1 (ADR 0012): the circuit breaker is a class of ours with its own tests; no
module goes back to purgatory or to its private internals (``purgatory.service._async``,
``_factory.uow.contexts.breakers``)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "libs", ROOT / "services", ROOT / "examples", ROOT / "tools"]
FORBIDDEN = re.compile(r"^\s*(import|from)\s+purgatory\b|_factory\.uow|contexts\.breakers",
                       re.MULTILINE)


def test_no_module_uses_purgatory_or_its_internals() -> None:
    offenders = [str(path.relative_to(ROOT)) for base in SOURCES
                 for path in base.rglob("*.py")
                 if ".venv" not in path.parts and FORBIDDEN.search(path.read_text())]
    assert offenders == []
    pyprojects = [p for base in SOURCES for p in base.rglob("pyproject.toml")]
    assert not any("purgatory" in p.read_text() for p in [*pyprojects, ROOT / "pyproject.toml"])
