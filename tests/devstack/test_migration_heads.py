"""The warm start's migration check (issue 10): the scripts' heads are kept in the stack's home
under a digest of the scripts, so a warm `make run` does not import Alembic; any change to the
scripts asks Alembic again."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from avelar_devstack import migrations
from avelar_devstack.migrations import script_heads, service_dir


@pytest.fixture
def scripts(tmp_path: Path) -> Path:
    copy = tmp_path / "migrations"
    shutil.copytree(service_dir("lucrum") / "migrations", copy,
                    ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def test_heads_are_kept_under_the_scripts_digest_and_asked_again_when_a_script_changes(
        scripts: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    heads_file = tmp_path / "home" / "migration-heads.json"
    heads_file.parent.mkdir()
    expected = migrations.alembic_heads(scripts)
    asked: list[Path] = []
    real = migrations.alembic_heads

    def counting(d: Path) -> set[str]:
        asked.append(d)
        return real(d)

    monkeypatch.setattr(migrations, "alembic_heads", counting)
    assert script_heads(scripts, heads_file) == expected and len(asked) == 1
    # Warm: the same scripts, read from the file, Alembic not asked.
    assert script_heads(scripts, heads_file) == expected and len(asked) == 1

    # A new migration on top: the digest changes, Alembic is asked and finds the new head.
    head = sorted(expected)[0]
    (scripts / "versions" / "9999_new.py").write_text(
        f'revision = "9999"\ndown_revision = "{head}"\nbranch_labels = None\n'
        "depends_on = None\n\n\ndef upgrade() -> None:\n    pass\n\n\n"
        "def downgrade() -> None:\n    pass\n")
    assert script_heads(scripts, heads_file) == {"9999"} and len(asked) == 2
    assert script_heads(scripts, heads_file) == {"9999"} and len(asked) == 2

    # An edited script (same names) changes the digest too.
    path = scripts / "versions" / "9999_new.py"
    path.write_text(path.read_text() + "\n# edited\n")
    script_heads(scripts, heads_file)
    assert len(asked) == 3


def test_an_unreadable_heads_file_is_ignored_and_written_again(
        scripts: Path, tmp_path: Path) -> None:
    heads_file = tmp_path / "migration-heads.json"
    heads_file.write_text("not json")
    assert script_heads(scripts, heads_file) == migrations.alembic_heads(scripts)
    assert str(scripts.resolve()) in heads_file.read_text()


def test_the_dev_stack_imports_neither_fastapi_nor_alembic_before_the_servers_start() -> None:
    """What the warm start does before it starts the servers runs in the dev stack's process:
    importing FastAPI (through ``avelar_kit.db``'s names) or Alembic there costs seconds on a
    2-core machine (issue 10)."""
    import subprocess
    import sys

    code = ("import sys, avelar_devstack.cli\n"
            "print(sorted(m for m in ('fastapi', 'alembic') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,  # noqa: S603
                         check=True).stdout.strip()
    assert out == "[]"
