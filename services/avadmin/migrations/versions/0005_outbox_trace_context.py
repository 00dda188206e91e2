"""outbox trace context: the request id and W3C trace context of the request that wrote the row

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 16:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('outbox_events', sa.Column('trace_context',
                                             postgresql.JSONB(astext_type=sa.Text()),
                                             nullable=True))


def downgrade() -> None:
    op.drop_column('outbox_events', 'trace_context')
