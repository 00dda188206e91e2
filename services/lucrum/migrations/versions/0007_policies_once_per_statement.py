"""row-level security: the policies read the company setting once per statement (ADR 0020)

The policies of 0006 read ``avelar.company_id`` (and ``avelar.system``) and cast it to uuid for
every row they looked at: the cash-flow report over 100,000 entries took 2.7 times as long as the
app role (262 ms) as without row-level security (94 ms). Written as scalar subqueries, they are
evaluated once per statement (an InitPlan) and each row is compared with the result: 76 ms, the
same rows.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 04:40:00
"""

from collections.abc import Sequence

from alembic import op

from avelar_kit.db.tenancy import alter_company_policies

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COMPANY_TABLES = ("bank_accounts", "financial_transactions", "categories", "pending_postings",
                  "transfers", "audit_log")


def upgrade() -> None:
    for table in COMPANY_TABLES:
        for statement in alter_company_policies(table, "account_id"):
            op.execute(statement)


def downgrade() -> None:
    for table in COMPANY_TABLES:
        for statement in alter_company_policies(table, "account_id", row_by_row=True):
            op.execute(statement)
