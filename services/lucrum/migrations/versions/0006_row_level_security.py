"""row-level security: every company table keyed by the transaction's company (ADR 0020)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 20:10:00
"""

from collections.abc import Sequence

from alembic import op

from avelar_kit.db.tenancy import company_policies, drop_company_policies

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COMPANY_TABLES = ("bank_accounts", "financial_transactions", "categories", "pending_postings",
                  "transfers", "audit_log")


def upgrade() -> None:
    for table in COMPANY_TABLES:
        for statement in company_policies(table, "account_id"):
            op.execute(statement)
    # An audit entry that names no company may be written from any request; only the
    # platform reads it.
    op.execute("CREATE POLICY entries_without_company ON audit_log FOR INSERT "
               "WITH CHECK (account_id IS NULL)")


def downgrade() -> None:
    op.execute("DROP POLICY IF EXISTS entries_without_company ON audit_log")
    for table in COMPANY_TABLES:
        for statement in drop_company_policies(table):
            op.execute(statement)
