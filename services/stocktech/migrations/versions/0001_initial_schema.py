"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-29 07:53:17.583869
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Rules the database itself enforces, whatever path writes: stock and money never negative,
# quantities positive, the total consistent with price x quantity, product codes with a valid
# check letter (stocktech/products/codes.py), no company buying from itself.


def upgrade() -> None:
    op.create_table('brands',
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('logo_url', sa.String(length=255), nullable=True),
    sa.Column('is_active', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_brands'))
    )
    op.create_index('uq_brands_name_lower', 'brands', [sa.literal_column('lower(name)')], unique=True)
    op.create_table('categories',
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('icon', sa.String(length=50), nullable=True),
    sa.Column('is_active', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_categories'))
    )
    op.create_index('uq_categories_name_lower', 'categories', [sa.literal_column('lower(name)')], unique=True)
    op.create_table('handled_events',
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('event_type', sa.String(length=100), nullable=False),
    sa.Column('source', sa.String(length=50), nullable=False),
    sa.Column('handled_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_handled_events'))
    )
    op.create_table('idempotency_keys',
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.SmallInteger(), nullable=True),
    sa.Column('response', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('account_id', 'key', name=op.f('pk_idempotency_keys'))
    )
    op.create_index(op.f('ix_idempotency_keys_created_at'), 'idempotency_keys', ['created_at'], unique=False)
    op.create_table('known_accounts',
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('company_name', sa.String(length=100), nullable=True),
    sa.Column('whatsapp', sa.String(length=20), nullable=True),
    sa.Column('status', sa.String(length=20), server_default='active', nullable=False),
    sa.Column('plan_name', sa.String(length=50), nullable=True),
    sa.Column('max_products', sa.Integer(), nullable=True),
    sa.Column('max_transactions', sa.Integer(), nullable=True),
    sa.Column('status_event_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('plan_event_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('active', 'suspended')", name=op.f('ck_known_accounts_status_valid')),
    sa.CheckConstraint('max_products IS NULL OR max_products >= 0', name=op.f('ck_known_accounts_max_products_nn')),
    sa.CheckConstraint('max_transactions IS NULL OR max_transactions >= 0', name=op.f('ck_known_accounts_max_transactions_nn')),
    sa.PrimaryKeyConstraint('account_id', name=op.f('pk_known_accounts'))
    )
    op.create_table('known_users',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('event_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_known_users'))
    )
    op.create_index(op.f('ix_known_users_account_id'), 'known_users', ['account_id'], unique=False)
    op.create_table('outbox_events',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('event_type', sa.String(length=100), nullable=False),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('schema_version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_events'))
    )
    op.create_index(op.f('ix_outbox_events_published_at'), 'outbox_events', ['published_at'], unique=False)
    op.create_table('products',
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('category_id', sa.Uuid(), nullable=False),
    sa.Column('brand_id', sa.Uuid(), nullable=False),
    sa.Column('price', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('stock_quantity', sa.Integer(), nullable=False),
    sa.Column('images', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False),
    sa.Column('specifications', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("CASE WHEN code ~ '^ST[0-9]{6}[A-Z]$' THEN substr('ABCDEFGHJKLMNPQRSTVWXYZ', (substr(code, 3, 6)::int % 23) + 1, 1) = substr(code, 9, 1) ELSE false END", name=op.f('ck_products_code_valid')),
    sa.CheckConstraint("jsonb_typeof(images) = 'array'", name=op.f('ck_products_images_array')),
    sa.CheckConstraint("jsonb_typeof(specifications) = 'object'", name=op.f('ck_products_specifications_object')),
    sa.CheckConstraint('length(btrim(name)) > 0', name=op.f('ck_products_name_not_blank')),
    sa.CheckConstraint('price >= 0', name=op.f('ck_products_price_non_negative')),
    sa.CheckConstraint('stock_quantity >= 0', name=op.f('ck_products_stock_non_negative')),
    sa.ForeignKeyConstraint(['account_id'], ['known_accounts.account_id'], name=op.f('fk_products_account_id_known_accounts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_products_brand_id_brands'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_products_category_id_categories'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_products')),
    sa.UniqueConstraint('code', name=op.f('uq_products_code'))
    )
    op.create_index('ix_products_account_active', 'products', ['account_id', 'is_active'], unique=False)
    op.create_index(op.f('ix_products_brand_id'), 'products', ['brand_id'], unique=False)
    op.create_index(op.f('ix_products_category_id'), 'products', ['category_id'], unique=False)
    op.create_index('ix_products_marketplace', 'products', ['is_active', 'created_at'], unique=False)
    op.create_index('ix_products_search', 'products', [sa.literal_column("to_tsvector('portuguese'::regconfig, (name::text || ' '::text) || COALESCE(description, ''::text))")], unique=False, postgresql_using='gin')
    op.create_table('transactions',
    sa.Column('product_id', sa.Uuid(), nullable=False),
    sa.Column('product_code', sa.String(length=20), nullable=False),
    sa.Column('product_name', sa.String(length=200), nullable=False),
    sa.Column('buyer_account_id', sa.Uuid(), nullable=False),
    sa.Column('buyer_user_id', sa.Uuid(), nullable=False),
    sa.Column('seller_account_id', sa.Uuid(), nullable=False),
    sa.Column('seller_user_id', sa.Uuid(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('total_amount', sa.Numeric(precision=15, scale=2), nullable=False),
    sa.Column('whatsapp_chat_id', sa.String(length=100), nullable=True),
    sa.Column('whatsapp_link', sa.Text(), nullable=True),
    sa.Column('status', sa.Enum('pending', 'completed', 'cancelled', name='transaction_status'), server_default='pending', nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_by_user_id', sa.Uuid(), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_by_user_id', sa.Uuid(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(status = 'completed') = (completed_at IS NOT NULL) AND (status = 'cancelled') = (cancelled_at IS NOT NULL)", name=op.f('ck_transactions_status_timestamps')),
    sa.CheckConstraint('buyer_account_id <> seller_account_id', name=op.f('ck_transactions_not_self_purchase')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_transactions_quantity_positive')),
    sa.CheckConstraint('total_amount = unit_price * quantity', name=op.f('ck_transactions_total_matches')),
    sa.CheckConstraint('unit_price >= 0', name=op.f('ck_transactions_unit_price_non_negative')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_transactions_product_id_products'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transactions'))
    )
    op.create_index('ix_transactions_buyer_created', 'transactions', ['buyer_account_id', 'created_at'], unique=False)
    op.create_index(op.f('ix_transactions_product_id'), 'transactions', ['product_id'], unique=False)
    op.create_index('ix_transactions_seller_created', 'transactions', ['seller_account_id', 'created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_transactions_seller_created', table_name='transactions')
    op.drop_index(op.f('ix_transactions_product_id'), table_name='transactions')
    op.drop_index('ix_transactions_buyer_created', table_name='transactions')
    op.drop_table('transactions')
    op.drop_index('ix_products_search', table_name='products', postgresql_using='gin')
    op.drop_index('ix_products_marketplace', table_name='products')
    op.drop_index(op.f('ix_products_category_id'), table_name='products')
    op.drop_index(op.f('ix_products_brand_id'), table_name='products')
    op.drop_index('ix_products_account_active', table_name='products')
    op.drop_table('products')
    op.drop_index(op.f('ix_outbox_events_published_at'), table_name='outbox_events')
    op.drop_table('outbox_events')
    op.drop_index(op.f('ix_known_users_account_id'), table_name='known_users')
    op.drop_table('known_users')
    op.drop_table('known_accounts')
    op.drop_table('handled_events')
    op.drop_index(op.f('ix_idempotency_keys_created_at'), table_name='idempotency_keys')
    op.drop_table('idempotency_keys')
    op.drop_index('uq_categories_name_lower', table_name='categories')
    op.drop_table('categories')
    op.drop_index('uq_brands_name_lower', table_name='brands')
    op.drop_table('brands')
    sa.Enum(name='transaction_status').drop(op.get_bind(), checkfirst=True)
