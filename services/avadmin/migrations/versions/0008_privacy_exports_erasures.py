"""privacy: exports, erasures, erased users

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 19:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHATSAPP = "whatsapp ~ '^\\+55[1-9][0-9]9[0-9]{8}$'"


def upgrade() -> None:
    op.add_column('users', sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))
    op.drop_constraint(op.f('ck_users_cpf_valid'), 'users', type_='check')
    op.drop_constraint(op.f('ck_users_whatsapp_e164_br_mobile'), 'users', type_='check')
    op.create_check_constraint(op.f('ck_users_cpf_valid'), 'users',
                               'erased_at IS NOT NULL OR avelar_cpf_is_valid(cpf)')
    op.create_check_constraint(op.f('ck_users_whatsapp_e164_br_mobile'), 'users',
                               f'erased_at IS NOT NULL OR {WHATSAPP}')
    op.create_table('privacy_exports',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('requested_by', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=10), server_default='pending', nullable=False),
    sa.Column('parts', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('missing', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("jsonb_typeof(missing) = 'array'", name=op.f('ck_privacy_exports_missing_array')),
    sa.CheckConstraint("status IN ('pending', 'complete')", name=op.f('ck_privacy_exports_status_known')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_privacy_exports_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_exports'))
    )
    op.create_index(op.f('ix_privacy_exports_user_id'), 'privacy_exports', ['user_id'], unique=False)
    op.create_index(op.f('ix_privacy_exports_expires_at'), 'privacy_exports', ['expires_at'], unique=False)
    op.create_index('ix_privacy_exports_pending', 'privacy_exports', ['created_at'], unique=False, postgresql_where=sa.text("status = 'pending'"))
    op.create_table('privacy_erasures',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('requested_by', sa.String(length=100), nullable=False),
    sa.Column('streams_scrubbed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_privacy_erasures_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_privacy_erasures'))
    )
    op.create_index(op.f('ix_privacy_erasures_account_id'), 'privacy_erasures', ['account_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_privacy_erasures_account_id'), table_name='privacy_erasures')
    op.drop_table('privacy_erasures')
    op.drop_index('ix_privacy_exports_pending', table_name='privacy_exports', postgresql_where=sa.text("status = 'pending'"))
    op.drop_index(op.f('ix_privacy_exports_expires_at'), table_name='privacy_exports')
    op.drop_index(op.f('ix_privacy_exports_user_id'), table_name='privacy_exports')
    op.drop_table('privacy_exports')
    # Erased users cannot satisfy the original checks: the downgrade refuses while any exist.
    op.drop_constraint(op.f('ck_users_whatsapp_e164_br_mobile'), 'users', type_='check')
    op.drop_constraint(op.f('ck_users_cpf_valid'), 'users', type_='check')
    op.create_check_constraint(op.f('ck_users_cpf_valid'), 'users', 'avelar_cpf_is_valid(cpf)')
    op.create_check_constraint(op.f('ck_users_whatsapp_e164_br_mobile'), 'users', WHATSAPP)
    op.drop_column('users', 'erased_at')
