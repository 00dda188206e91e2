# ruff: noqa: S608 (the statements are constants of this file and the kit's)
"""row-level security: the policies read the company setting once per statement (ADR 0020)

The policies of 0006 read ``avelar.company_id`` (and ``avelar.system``) and cast it to uuid for
every row they looked at; written as scalar subqueries they are evaluated once per statement
(an InitPlan). The marketplace policy looked up the seller in ``known_accounts`` once per
product row (a correlated EXISTS, itself under known_accounts' policies); as ``account_id IN
(the active sellers)`` PostgreSQL reads the active sellers once per statement into a hash table
(a hashed SubPlan). Same rows.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 04:40:00
"""

from collections.abc import Sequence

from alembic import op

from avelar_kit.db.tenancy import CURRENT_COMPANY, ROW_BY_ROW_COMPANY, alter_company_policies

revision: str = '0008'
down_revision: str | None = '0007'
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
        for statement in alter_company_policies(table, *columns):
            op.execute(statement)
    op.execute("ALTER POLICY marketplace_sellers ON known_accounts "
               f"USING ({CURRENT_COMPANY} IS NOT NULL AND status = 'active')")
    op.execute("ALTER POLICY marketplace ON products USING ("
               f"{CURRENT_COMPANY} IS NOT NULL AND is_active AND account_id IN ("
               "SELECT k.account_id FROM known_accounts AS k WHERE k.status = 'active'))")


def downgrade() -> None:
    op.execute("ALTER POLICY marketplace ON products USING ("
               f"{ROW_BY_ROW_COMPANY} IS NOT NULL AND is_active AND EXISTS ("
               "SELECT 1 FROM known_accounts AS k "
               "WHERE k.account_id = products.account_id AND k.status = 'active'))")
    op.execute("ALTER POLICY marketplace_sellers ON known_accounts "
               f"USING ({ROW_BY_ROW_COMPANY} IS NOT NULL AND status = 'active')")
    for table, columns in COMPANY_TABLES.items():
        for statement in alter_company_policies(table, *columns, row_by_row=True):
            op.execute(statement)
