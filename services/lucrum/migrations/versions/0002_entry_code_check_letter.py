"""entry codes: the kit's one check-letter scheme, enforced by the database

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 17:10:00

LC codes take the same check letter as StockTech's ST codes (avelar_kit.br.codes: the number
modulo 23 over ABCDEFGHJKLMNPQRSTVWXYZ). Existing codes keep their digits and get the new
letter (unique digits stay unique); the shape check becomes a validity check.
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ALPHABET = "ABCDEFGHJKLMNPQRSTVWXYZ"
VALID = (
    "CASE WHEN code ~ '^LC[0-9]{8}[A-Z]$' THEN "
    f"substr('{ALPHABET}', (substr(code, 3, 8)::bigint % 23)::int + 1, 1) = substr(code, 11, 1) "
    "ELSE false END"
)


def upgrade() -> None:
    op.drop_constraint(op.f('ck_financial_transactions_code_shape'), 'financial_transactions',
                       type_='check')
    op.execute(
        "UPDATE financial_transactions SET code = substr(code, 1, 10) || "
        "substr('ABCDEFGHJKLMNPQRSTVWXYZ', (substr(code, 3, 8)::bigint % 23)::int + 1, 1)"
    )
    op.create_check_constraint(op.f('ck_financial_transactions_code_valid'), 'financial_transactions',
                               VALID)


def downgrade() -> None:
    op.drop_constraint(op.f('ck_financial_transactions_code_valid'), 'financial_transactions',
                       type_='check')
    # The old letter: digits weighted 9..2, summed, modulo 26 over A..Z.
    op.execute(
        "UPDATE financial_transactions SET code = substr(code, 1, 10) || chr(65 + ("
        "substr(code, 3, 1)::int * 9 + substr(code, 4, 1)::int * 8 + "
        "substr(code, 5, 1)::int * 7 + substr(code, 6, 1)::int * 6 + "
        "substr(code, 7, 1)::int * 5 + substr(code, 8, 1)::int * 4 + "
        "substr(code, 9, 1)::int * 3 + substr(code, 10, 1)::int * 2"
        ") % 26)"
    )
    op.create_check_constraint(op.f('ck_financial_transactions_code_shape'), 'financial_transactions',
                               "code ~ '^LC[0-9]{8}[A-Z]$'")
