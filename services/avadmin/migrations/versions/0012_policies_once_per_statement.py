# ruff: noqa: S608 (the statements are constants of this file and the kit's)
"""row-level security: the policies read the company setting once per statement (ADR 0020)

The policies of 0011 read ``avelar.company_id`` (and ``avelar.system``) and cast it to uuid for
every row they looked at; written as scalar subqueries they are evaluated once per statement
(an InitPlan) and each row is compared with the result. Same rows.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 04:40:00
"""

from collections.abc import Sequence

from alembic import op

from avelar_kit.db.tenancy import (
    CURRENT_COMPANY,
    PLATFORM,
    ROW_BY_ROW_COMPANY,
    ROW_BY_ROW_PLATFORM,
    alter_company_policies,
)

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COMPANY_TABLES = {
    "accounts": ("id",),
    "users": ("account_id",),
    "billing_transactions": ("account_id",),
    "billing_subscriptions": ("account_id",),
    "whatsapp_messages": ("account_id",),
    "privacy_erasures": ("account_id",),
    "audit_log": ("account_id",),
}
BY_USER = ("refresh_tokens", "privacy_exports")


def _by_user(company: str, platform: str) -> list[str]:
    statements = []
    for table in BY_USER:
        mine = (f"EXISTS (SELECT 1 FROM users AS u WHERE u.id = {table}.user_id "
                f"AND u.account_id = {company})")
        statements += [
            f'ALTER POLICY company_rows ON "{table}" USING ({mine}) WITH CHECK ({mine})',
            f'ALTER POLICY platform_rows ON "{table}" USING ({platform}) '
            f"WITH CHECK ({platform})",
        ]
    return statements


def upgrade() -> None:
    for table, columns in COMPANY_TABLES.items():
        for statement in alter_company_policies(table, *columns):
            op.execute(statement)
    for statement in _by_user(CURRENT_COMPANY, PLATFORM):
        op.execute(statement)


def downgrade() -> None:
    for statement in _by_user(ROW_BY_ROW_COMPANY, ROW_BY_ROW_PLATFORM):
        op.execute(statement)
    for table, columns in COMPANY_TABLES.items():
        for statement in alter_company_policies(table, *columns, row_by_row=True):
            op.execute(statement)
