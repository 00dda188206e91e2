"""row-level security: every company table keyed by the transaction's company (ADR 0020)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 00:40:00
"""

from collections.abc import Sequence

from alembic import op

from avelar_kit.db.tenancy import CURRENT_COMPANY, PLATFORM, company_policies, drop_company_policies

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The table and the column that names the row's company: an account's own row by its id.
COMPANY_TABLES = {
    "accounts": ("id",),
    "users": ("account_id",),
    "billing_transactions": ("account_id",),
    "billing_subscriptions": ("account_id",),
    "whatsapp_messages": ("account_id",),
    "privacy_erasures": ("account_id",),
    "audit_log": ("account_id",),
}
# A person's rows without a company column: their company is their user's (refresh tokens, the
# LGPD export document). The policy reads users, itself under its own policies.
BY_USER = ("refresh_tokens", "privacy_exports")


def upgrade() -> None:
    for table, columns in COMPANY_TABLES.items():
        for statement in company_policies(table, *columns):
            op.execute(statement)
    for table in BY_USER:
        mine = (f"EXISTS (SELECT 1 FROM users AS u WHERE u.id = {table}.user_id "  # noqa: S608
                f"AND u.account_id = {CURRENT_COMPANY})")
        op.execute(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
        op.execute(f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY')
        op.execute(f'CREATE POLICY company_rows ON "{table}" USING ({mine}) WITH CHECK ({mine})')
        op.execute(f'CREATE POLICY platform_rows ON "{table}" USING ({PLATFORM}) '
                   f"WITH CHECK ({PLATFORM})")
    # An audit entry that names no company (a refused login, a platform action) may be written
    # from any request; only the platform reads it.
    op.execute("CREATE POLICY entries_without_company ON audit_log FOR INSERT "
               "WITH CHECK (account_id IS NULL)")


def downgrade() -> None:
    op.execute("DROP POLICY IF EXISTS entries_without_company ON audit_log")
    for table in (*COMPANY_TABLES, *BY_USER):
        for statement in drop_company_policies(table):
            op.execute(statement)
