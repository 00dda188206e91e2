# ruff: noqa: S608 (the statements are constants of this file)
"""the search's operators LEAKPROOF, so row-level security leaves the search on its indexes

Under row-level security PostgreSQL evaluates a query's conditions after the policies' unless
their functions are LEAKPROOF (they could otherwise reveal rows the policies hide). `@@`
(ts_match_vq) and LIKE (textlike) are not marked so by default, which made every marketplace
search a sequential scan of the whole products table as the app role: `make bench` as the app
role, a rare word over 100,000 products 467 ms, 0.4 ms with the GIN index. Neither function
raises an error that depends on the row's data (only on the query's own pattern), so they
reveal nothing. ALTER FUNCTION ... LEAKPROOF needs a superuser: where the owner that migrates
is not one, the migration says so and a DBA runs the two statements (docs/deploy.md).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 02:25:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTIONS = ("pg_catalog.ts_match_vq(tsvector, tsquery)", "pg_catalog.textlike(text, text)")


def _set(leakproof: str) -> None:
    statements = " ".join(f"ALTER FUNCTION {f} {leakproof};" for f in FUNCTIONS)
    op.execute(f"""
        DO $$
        BEGIN
            IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
                {statements}
            ELSE
                RAISE WARNING 'StockTech search: not a superuser, so the search operators are '
                    'not LEAKPROOF and row-level security keeps the search off its indexes; '
                    'a superuser should run: {statements.replace("'", "''")}';
            END IF;
        END $$;
    """)


def upgrade() -> None:
    _set("LEAKPROOF")


def downgrade() -> None:
    _set("NOT LEAKPROOF")
