"""Reports over the ledger: cash flow, balances at a date, drift, the CSV export."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from avelar_kit.db.tenancy import plan_for_these_values
from avelar_kit.errors import Unprocessable
from lucrum.bank_accounts.repository import BankAccountRepository
from lucrum.bank_accounts.service import BankAccountService
from lucrum.reports import csv_export
from lucrum.reports.repository import ReportRepository
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
from lucrum.transactions.repository import TransactionRepository
from lucrum.transactions.schemas import TransactionFilters

MAX_RANGE_DAYS = 366 * 10


def _months(start: date, end: date) -> list[date]:
    # Counted as (year, month) pairs: stepping a date past December 9999 would raise.
    months = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _check_period(date_from: date, date_to: date) -> None:
    if date_from > date_to:
        raise Unprocessable("A data inicial é posterior à final", code="invalid_period")
    if (date_to - date_from).days > MAX_RANGE_DAYS:
        raise Unprocessable("O período máximo é de 10 anos", code="period_too_long")


class ReportService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = ReportRepository(session)

    async def cash_flow(
        self, company: uuid.UUID, date_from: date, date_to: date, group_by: GroupBy,
        bank_account_id: uuid.UUID | None,
    ) -> CashFlowOut:
        _check_period(date_from, date_to)
        if bank_account_id is not None:
            await BankAccountService(self.session).get(company, bank_account_id)
        await plan_for_these_values(self.session)
        if group_by == GroupBy.month:
            rows = await self._by_month(company, date_from, date_to, bank_account_id)
        else:
            rows = [CashFlowRow(category_id=cat_id, category=name, income=income,
                                expense=expense, net=income - expense)
                    for cat_id, name, income, expense in await self.repo.by_category(
                        company, date_from, date_to, bank_account_id)]
        total_income = sum((r.income for r in rows), Decimal(0))
        total_expense = sum((r.expense for r in rows), Decimal(0))
        return CashFlowOut(
            date_from=date_from, date_to=date_to, group_by=group_by,
            bank_account_id=bank_account_id, rows=rows,
            totals=CashFlowTotals(income=total_income, expense=total_expense,
                                  net=total_income - total_expense),
        )

    async def _by_month(self, company: uuid.UUID, date_from: date, date_to: date,
                        bank_account_id: uuid.UUID | None) -> list[CashFlowRow]:
        found = {m: (i, e) for m, i, e in
                 await self.repo.by_month(company, date_from, date_to, bank_account_id)}
        rows = []
        # Every month of the period appears, with zeros where nothing happened, so a chart
        # does not silently skip a month.
        for month in _months(date_from, date_to):
            income, expense = found.get(month, (Decimal(0), Decimal(0)))
            # Not strftime: glibc writes year 1 as "1", not "0001".
            period = f"{month.year:04d}-{month.month:02d}"
            rows.append(CashFlowRow(period=period, income=income, expense=expense,
                                    net=income - expense))
        return rows

    async def balances(self, company: uuid.UUID, at: date) -> BalancesOut:
        rows = await self.repo.balances_at(company, at)
        accounts = [BalanceRow(bank_account_id=a.id, name=a.name, bank_code=a.bank_code,
                               is_active=a.is_active, balance=b) for a, b in rows]
        return BalancesOut(date=at, accounts=accounts,
                           total=sum((r.balance for r in accounts), Decimal(0)))

    async def drift(self, company: uuid.UUID) -> DriftOut:
        rows = []
        for bid, opening, ledger_sum, balance in await BankAccountRepository(
            self.session
        ).ledger_sums(company):
            computed = opening + ledger_sum
            rows.append(DriftRow(bank_account_id=bid, opening_balance=opening,
                                 ledger_sum=ledger_sum, computed_balance=computed,
                                 balance=balance, drift=balance - computed))
        return DriftOut(ok=all(r.drift == 0 for r in rows), accounts=rows)

    async def transactions_csv(self, company: uuid.UUID, f: TransactionFilters) -> str:
        """The ledger as CSV for a Brazilian spreadsheet (``reports.csv_export``)."""
        rows = await TransactionRepository(self.session).all_rows(company, f)
        accounts = await BankAccountRepository(self.session).list_for(company,
                                                                      include_inactive=True)
        return csv_export.render(rows, {a.id: a.name for a in accounts})
