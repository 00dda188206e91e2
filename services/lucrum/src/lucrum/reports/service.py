from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from avelar_kit.errors import Unprocessable
from lucrum.bank_accounts import repository as bank_repo
from lucrum.bank_accounts import service as bank_accounts
from lucrum.reports import repository as repo
from lucrum.reports.schemas import (
    BalanceRow,
    BalancesOut,
    CashFlowOut,
    CashFlowRow,
    CashFlowTotals,
    DriftOut,
    DriftRow,
    GroupBy,
)

MAX_RANGE_DAYS = 366 * 10


def _months(start: date, end: date) -> list[date]:
    # Counted as (year, month) pairs: stepping a date past December 9999 would raise.
    months = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


async def cash_flow(
    session: AsyncSession, company: uuid.UUID, date_from: date, date_to: date,
    group_by: GroupBy, bank_account_id: uuid.UUID | None,
) -> CashFlowOut:
    if date_from > date_to:
        raise Unprocessable("A data inicial é posterior à final", code="invalid_period")
    if (date_to - date_from).days > MAX_RANGE_DAYS:
        raise Unprocessable("O período máximo é de 10 anos", code="period_too_long")
    if bank_account_id is not None:
        await bank_accounts.get(session, company, bank_account_id)
    rows: list[CashFlowRow] = []
    if group_by == GroupBy.month:
        found = {m: (i, e) for m, i, e in
                 await repo.by_month(session, company, date_from, date_to, bank_account_id)}
        # Every month of the period appears, with zeros where nothing happened, so a chart
        # does not silently skip a month.
        for month in _months(date_from, date_to):
            income, expense = found.get(month, (Decimal(0), Decimal(0)))
            # Not strftime: glibc writes year 1 as "1", not "0001".
            period = f"{month.year:04d}-{month.month:02d}"
            rows.append(CashFlowRow(period=period, income=income, expense=expense,
                                    net=income - expense))
    else:
        for cat_id, name, income, expense in await repo.by_category(
            session, company, date_from, date_to, bank_account_id
        ):
            rows.append(CashFlowRow(category_id=cat_id, category=name, income=income,
                                    expense=expense, net=income - expense))
    total_income = sum((r.income for r in rows), Decimal(0))
    total_expense = sum((r.expense for r in rows), Decimal(0))
    return CashFlowOut(
        date_from=date_from, date_to=date_to, group_by=group_by,
        bank_account_id=bank_account_id, rows=rows,
        totals=CashFlowTotals(income=total_income, expense=total_expense,
                              net=total_income - total_expense),
    )


async def balances(session: AsyncSession, company: uuid.UUID, at: date) -> BalancesOut:
    rows = await repo.balances_at(session, company, at)
    accounts = [BalanceRow(bank_account_id=a.id, name=a.name, bank_code=a.bank_code,
                           is_active=a.is_active, balance=b) for a, b in rows]
    return BalancesOut(date=at, accounts=accounts,
                       total=sum((r.balance for r in accounts), Decimal(0)))


async def drift(session: AsyncSession, company: uuid.UUID) -> DriftOut:
    rows = []
    for bid, opening, ledger_sum, balance in await bank_repo.ledger_sums(session, company):
        computed = opening + ledger_sum
        rows.append(DriftRow(bank_account_id=bid, opening_balance=opening, ledger_sum=ledger_sum,
                             computed_balance=computed, balance=balance,
                             drift=balance - computed))
    return DriftOut(ok=all(r.drift == 0 for r in rows), accounts=rows)
