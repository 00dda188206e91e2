"""How entries move a bank account's running balance: their signed effect, merged per account.

Only ``BankAccountRepository`` writes a balance (``apply_deltas``, ``set_opening_balance``):
every posting, edit and delete calls ``apply_deltas`` inside the request's database
transaction, so the balance and the ledger commit (or roll back) together. Each change is a single
``UPDATE ... SET balance = balance + :delta``: the row lock it takes serialises concurrent
postings to the same account and no read-modify-write race can lose a cent. Several accounts
are always updated in id order, so two operations touching the same pair (a transfer and its
reversal, two edits moving money between the same accounts) lock in the same order and cannot
deadlock.
"""

from __future__ import annotations

import contextlib
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from decimal import Decimal

from sqlalchemy import ColumnElement, case
from sqlalchemy.exc import DBAPIError

from avelar_kit.errors import Unprocessable
from lucrum.transactions.models import FinancialTransaction, TransactionType

Delta = tuple[uuid.UUID, Decimal]


def signed_amount() -> ColumnElement[Decimal]:
    """The entry's effect on its account's balance: + for money in, - for money out."""
    return case(
        (FinancialTransaction.type.in_([TransactionType.income, TransactionType.transfer_in]),
         FinancialTransaction.amount),
        else_=-FinancialTransaction.amount,
    )


def effect(tx: FinancialTransaction) -> Delta:
    return tx.bank_account_id, tx.amount * TransactionType(tx.type).sign


def merge(*effects: Iterable[Delta]) -> dict[uuid.UUID, Decimal]:
    totals: dict[uuid.UUID, Decimal] = defaultdict(Decimal)
    for group in effects:
        for bank_account_id, delta in group:
            totals[bank_account_id] += delta
    return dict(totals)


NUMERIC_OUT_OF_RANGE = "22003"


def _sqlstate(exc: DBAPIError) -> str | None:
    for candidate in (exc.orig, getattr(exc.orig, "__cause__", None)):
        state = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if state:
            return str(state)
    return None


@contextlib.asynccontextmanager
async def balance_guard() -> AsyncIterator[None]:
    """A balance beyond NUMERIC(15,2) is the client's problem (422), not a crash; the request's
    transaction rolls back, so nothing of the operation is written."""
    try:
        yield
    except DBAPIError as exc:
        if _sqlstate(exc) == NUMERIC_OUT_OF_RANGE:
            raise Unprocessable("O saldo da conta passaria do limite de R$ 9.999.999.999.999,99",
                                code="balance_out_of_range") from exc
        raise
