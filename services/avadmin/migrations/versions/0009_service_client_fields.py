"""service clients read only the personal fields they are registered with (issue 15)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 20:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('service_clients', sa.Column(
        'personal_fields', postgresql.JSONB(astext_type=sa.Text()),
        server_default=sa.text("'[]'::jsonb"), nullable=False))
    # The first-party StockTech already registered keeps what it reads (the seller company's
    # name and WhatsApp); Lucrum reads nothing personal.
    op.execute("UPDATE service_clients SET personal_fields = "
               "'[\"account.company_name\", \"account.whatsapp\"]'::jsonb "
               "WHERE client_id = 'stocktech'")


def downgrade() -> None:
    op.drop_column('service_clients', 'personal_fields')
