"""pending postings: sale sides kept until the company has a default bank account

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 17:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'pending_postings',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('account_id', sa.Uuid(), nullable=False),
        sa.Column('source_ref', sa.String(length=120), nullable=False),
        sa.Column('side', sa.String(length=10), nullable=False),
        sa.Column('reason', sa.String(length=40), nullable=False),
        sa.Column('sale', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
                  nullable=False),
        sa.Column('posted_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('transaction_id', sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_postings')),
        sa.UniqueConstraint('account_id', 'source_ref', name='uq_pending_postings_source_ref'),
    )
    op.create_index(op.f('ix_pending_postings_account_id'), 'pending_postings', ['account_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_pending_postings_account_id'), table_name='pending_postings')
    op.drop_table('pending_postings')
