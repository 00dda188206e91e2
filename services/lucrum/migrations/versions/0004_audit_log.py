"""audit log: company admins' writes: bank accounts, categories, deleted entries and transfers (issue 15)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 20:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'audit_log',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
                  nullable=False),
        sa.Column('actor', sa.String(length=100), nullable=False),
        sa.Column('action', sa.String(length=100), nullable=False),
        sa.Column('account_id', sa.Uuid(), nullable=True),
        sa.Column('target', sa.String(length=150), nullable=True),
        sa.Column('before', postgresql.JSONB(astext_type=sa.Text()), server_default='{}',
                  nullable=False),
        sa.Column('after', postgresql.JSONB(astext_type=sa.Text()), server_default='{}',
                  nullable=False),
        sa.Column('details', postgresql.JSONB(astext_type=sa.Text()), server_default='{}',
                  nullable=False),
        sa.Column('request_id', sa.String(length=128), nullable=True),
        sa.Column('client_address', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log')),
    )
    op.create_index(op.f('ix_audit_log_account_id'), 'audit_log', ['account_id'], unique=False)
    op.create_index(op.f('ix_audit_log_action'), 'audit_log', ['action'], unique=False)
    op.create_index(op.f('ix_audit_log_actor'), 'audit_log', ['actor'], unique=False)
    op.create_index(op.f('ix_audit_log_created_at'), 'audit_log', ['created_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_audit_log_created_at'), table_name='audit_log')
    op.drop_index(op.f('ix_audit_log_actor'), table_name='audit_log')
    op.drop_index(op.f('ix_audit_log_action'), table_name='audit_log')
    op.drop_index(op.f('ix_audit_log_account_id'), table_name='audit_log')
    op.drop_table('audit_log')
