"""products: stored search vector with its GIN index, and a prefix index on the code

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 16:20:00

The marketplace search used to compute ``to_tsvector`` for every candidate row (and its ILIKE
branch kept PostgreSQL off the index entirely). The vector is now a stored generated column,
kept by PostgreSQL itself on every insert and update, with a GIN index; the code gets a
``text_pattern_ops`` index so that a code prefix (``ST1234``) is an index range scan. The
embedded PostgreSQL has no pg_trgm, so substring matching is replaced by word-prefix matching
(``to_tsquery`` with ``:*``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEARCH_VECTOR_SQL = (
    "to_tsvector('portuguese'::regconfig, "
    "(name::text || ' '::text) || COALESCE(description, ''::text))"
)


def upgrade() -> None:
    op.add_column('products', sa.Column(
        'search_vector', postgresql.TSVECTOR(),
        sa.Computed(SEARCH_VECTOR_SQL, persisted=True), nullable=True))
    op.drop_index('ix_products_search', table_name='products', postgresql_using='gin')
    op.create_index('ix_products_search_vector', 'products', ['search_vector'], unique=False,
                    postgresql_using='gin')
    op.create_index('ix_products_code_prefix', 'products', ['code'], unique=False,
                    postgresql_ops={'code': 'text_pattern_ops'})


def downgrade() -> None:
    op.drop_index('ix_products_code_prefix', table_name='products')
    op.drop_index('ix_products_search_vector', table_name='products', postgresql_using='gin')
    op.create_index('ix_products_search', 'products',
                    [sa.literal_column(SEARCH_VECTOR_SQL)], unique=False,
                    postgresql_using='gin')
    op.drop_column('products', 'search_vector')
