"""billing

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 16:09:10.961974
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# billing_cycle exists since 0001; billing_method is created here, once.
CYCLE = postgresql.ENUM('monthly', 'yearly', name='billing_cycle', create_type=False)
METHOD = postgresql.ENUM('card', 'pix', name='billing_method', create_type=False)


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    METHOD.create(op.get_bind(), checkfirst=False)
    op.create_table('billing_notifications',
    sa.Column('topic', sa.String(length=60), nullable=False),
    sa.Column('resource_id', sa.String(length=100), nullable=False),
    sa.Column('request_id', sa.String(length=100), nullable=True),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('outcome', sa.String(length=200), nullable=True),
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_notifications'))
    )
    op.create_index('uq_billing_notifications_pending', 'billing_notifications', ['topic', 'resource_id'], unique=True, postgresql_where=sa.text('processed_at IS NULL'))
    op.create_table('mercadopago_plans',
    sa.Column('plan_id', sa.Uuid(), nullable=False),
    sa.Column('cycle', CYCLE, nullable=False),
    sa.Column('amount', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('preapproval_plan_id', sa.String(length=100), nullable=False),
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_mercadopago_plans_plan_id_plans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mercadopago_plans')),
    sa.UniqueConstraint('plan_id', 'cycle', 'amount', name='uq_mercadopago_plans_plan_cycle_amount'),
    sa.UniqueConstraint('preapproval_plan_id', name=op.f('uq_mercadopago_plans_preapproval_plan_id'))
    )
    op.create_table('billing_subscriptions',
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('cycle', CYCLE, nullable=False),
    sa.Column('method', METHOD, nullable=True),
    sa.Column('amount', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('paid_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('preapproval_id', sa.String(length=100), nullable=True),
    sa.Column('preapproval_status', sa.String(length=40), nullable=True),
    sa.Column('scheduled_plan_id', sa.Uuid(), nullable=True),
    sa.Column('scheduled_cycle', CYCLE, nullable=True),
    sa.Column('scheduled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('suspended_for_nonpayment', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_billing_subscriptions_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['scheduled_plan_id'], ['plans.id'], name=op.f('fk_billing_subscriptions_scheduled_plan_id_plans')),
    sa.PrimaryKeyConstraint('account_id', name=op.f('pk_billing_subscriptions'))
    )
    op.create_index(op.f('ix_billing_subscriptions_paid_until'), 'billing_subscriptions', ['paid_until'], unique=False)
    op.add_column('billing_transactions', sa.Column('method', METHOD, nullable=True))
    op.add_column('billing_transactions', sa.Column('cycle', CYCLE, nullable=True))
    op.add_column('billing_transactions', sa.Column('currency', sa.String(length=3), server_default='BRL', nullable=False))
    op.add_column('billing_transactions', sa.Column('external_reference', sa.String(length=100), nullable=True))
    op.add_column('billing_transactions', sa.Column('preapproval_id', sa.String(length=100), nullable=True))
    op.add_column('billing_transactions', sa.Column('idempotency_key', sa.String(length=200), nullable=True))
    op.add_column('billing_transactions', sa.Column('gateway_status', sa.String(length=40), nullable=True))
    op.add_column('billing_transactions', sa.Column('gateway_updated_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('billing_transactions', sa.Column('failure_reason', sa.String(length=100), nullable=True))
    op.add_column('billing_transactions', sa.Column('checkout_url', sa.Text(), nullable=True))
    op.add_column('billing_transactions', sa.Column('pix_qr_code', sa.Text(), nullable=True))
    op.add_column('billing_transactions', sa.Column('pix_qr_code_base64', sa.Text(), nullable=True))
    op.add_column('billing_transactions', sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('billing_transactions', sa.Column('period_start', sa.DateTime(timezone=True), nullable=True))
    op.add_column('billing_transactions', sa.Column('period_end', sa.DateTime(timezone=True), nullable=True))
    op.add_column('billing_transactions', sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False))
    op.create_index(op.f('ix_billing_transactions_external_reference'), 'billing_transactions', ['external_reference'], unique=False)
    op.create_index(op.f('ix_billing_transactions_preapproval_id'), 'billing_transactions', ['preapproval_id'], unique=False)
    op.create_unique_constraint('uq_billing_idempotency', 'billing_transactions', ['account_id', 'idempotency_key'])


def downgrade() -> None:
    op.drop_constraint('uq_billing_idempotency', 'billing_transactions', type_='unique')
    op.drop_index(op.f('ix_billing_transactions_preapproval_id'), table_name='billing_transactions')
    op.drop_index(op.f('ix_billing_transactions_external_reference'), table_name='billing_transactions')
    op.drop_column('billing_transactions', 'updated_at')
    op.drop_column('billing_transactions', 'period_end')
    op.drop_column('billing_transactions', 'period_start')
    op.drop_column('billing_transactions', 'expires_at')
    op.drop_column('billing_transactions', 'pix_qr_code_base64')
    op.drop_column('billing_transactions', 'pix_qr_code')
    op.drop_column('billing_transactions', 'checkout_url')
    op.drop_column('billing_transactions', 'failure_reason')
    op.drop_column('billing_transactions', 'gateway_updated_at')
    op.drop_column('billing_transactions', 'gateway_status')
    op.drop_column('billing_transactions', 'idempotency_key')
    op.drop_column('billing_transactions', 'preapproval_id')
    op.drop_column('billing_transactions', 'external_reference')
    op.drop_column('billing_transactions', 'currency')
    op.drop_column('billing_transactions', 'cycle')
    op.drop_column('billing_transactions', 'method')
    op.drop_index(op.f('ix_billing_subscriptions_paid_until'), table_name='billing_subscriptions')
    op.drop_table('billing_subscriptions')
    op.drop_table('mercadopago_plans')
    op.drop_index('uq_billing_notifications_pending', table_name='billing_notifications', postgresql_where=sa.text('processed_at IS NULL'))
    op.drop_table('billing_notifications')
    METHOD.drop(op.get_bind(), checkfirst=False)
