"""audit log append-only by privilege: the app role may INSERT and SELECT, never UPDATE,
DELETE or TRUNCATE (issue 15, ADR 0017)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 20:40:00
"""

from collections.abc import Sequence

from alembic import op

from avelar_kit.audit import append_only_sql, undo_append_only_sql

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(append_only_sql("audit_log"))


def downgrade() -> None:
    op.execute(undo_append_only_sql("audit_log"))
