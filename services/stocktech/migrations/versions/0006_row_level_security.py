"""row-level security: every company table keyed by the transaction's company (ADR 0020)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 20:10:00
"""

from collections.abc import Sequence

from alembic import op

from avelar_kit.db.tenancy import CURRENT_COMPANY, company_policies, drop_company_policies

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COMPANY_TABLES = {
    "products": ("account_id",),
    "transactions": ("buyer_account_id", "seller_account_id"),
    "idempotency_keys": ("account_id",),
    "known_accounts": ("account_id",),
    "known_users": ("account_id",),
    "audit_log": ("account_id",),
}


def upgrade() -> None:
    for table, columns in COMPANY_TABLES.items():
        for statement in company_policies(table, *columns):
            op.execute(statement)
    # An audit entry that names no company (a refused login, a platform action) may be written
    # from any request; only the platform reads it.
    op.execute("CREATE POLICY entries_without_company ON audit_log FOR INSERT "
               "WITH CHECK (account_id IS NULL)")
    # The marketplace: every company (a company is set: no caller, no rows) sees the active
    # products of sellers that are not suspended, and those sellers' names; a policy of its
    # own, not an exception in code.
    op.execute("CREATE POLICY marketplace_sellers ON known_accounts FOR SELECT "
               f"USING ({CURRENT_COMPANY} IS NOT NULL AND status = 'active')")
    op.execute("CREATE POLICY marketplace ON products FOR SELECT USING ("  # noqa: S608
               f"{CURRENT_COMPANY} IS NOT NULL AND is_active AND EXISTS ("
               "SELECT 1 FROM known_accounts AS k "
               "WHERE k.account_id = products.account_id AND k.status = 'active'))")


def downgrade() -> None:
    op.execute("DROP POLICY IF EXISTS entries_without_company ON audit_log")
    op.execute("DROP POLICY IF EXISTS marketplace ON products")
    op.execute("DROP POLICY IF EXISTS marketplace_sellers ON known_accounts")
    for table in COMPANY_TABLES:
        for statement in drop_company_policies(table):
            op.execute(statement)
