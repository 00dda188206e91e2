"""audit trail: target, before and after values, request id, client address (issue 15)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 19:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('audit_log', sa.Column('target', sa.String(length=150), nullable=True))
    op.add_column('audit_log', sa.Column('before', postgresql.JSONB(astext_type=sa.Text()),
                                         server_default='{}', nullable=False))
    op.add_column('audit_log', sa.Column('after', postgresql.JSONB(astext_type=sa.Text()),
                                         server_default='{}', nullable=False))
    op.add_column('audit_log', sa.Column('request_id', sa.String(length=128), nullable=True))
    op.add_column('audit_log', sa.Column('client_address', sa.String(length=64),
                                         nullable=True))
    op.drop_column('audit_log', 'note')
    op.alter_column('audit_log', 'details', server_default='{}')
    op.create_index(op.f('ix_audit_log_created_at'), 'audit_log', ['created_at'], unique=False)
    op.create_index(op.f('ix_audit_log_actor'), 'audit_log', ['actor'], unique=False)
    op.create_index(op.f('ix_audit_log_action'), 'audit_log', ['action'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_audit_log_action'), table_name='audit_log')
    op.drop_index(op.f('ix_audit_log_actor'), table_name='audit_log')
    op.drop_index(op.f('ix_audit_log_created_at'), table_name='audit_log')
    op.alter_column('audit_log', 'details', server_default=sa.text("'{}'::jsonb"))
    op.add_column('audit_log', sa.Column('note', sa.Text(), nullable=True))
    op.drop_column('audit_log', 'client_address')
    op.drop_column('audit_log', 'request_id')
    op.drop_column('audit_log', 'after')
    op.drop_column('audit_log', 'before')
    op.drop_column('audit_log', 'target')
