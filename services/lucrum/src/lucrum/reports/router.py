from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response

from avelar_kit.db import SessionDep
from lucrum import clock
from lucrum.dependencies import LucrumUser, ReportsFeature
from lucrum.reports.schemas import BalancesOut, CashFlowOut, DriftOut, GroupBy
from lucrum.reports.service import ReportService
from lucrum.transactions.dependencies import FiltersDep

router = APIRouter(prefix="/api/reports", tags=["reports"])


@router.get("/cash-flow", response_model=CashFlowOut, response_model_by_alias=True)
async def cash_flow(
    session: SessionDep, caller: ReportsFeature,
    date_from: Annotated[date, Query(alias="from", description="Data inicial (inclusive)")],
    date_to: Annotated[date, Query(alias="to", description="Data final (inclusive)")],
    group_by: GroupBy = GroupBy.month,
    bank_account_id: uuid.UUID | None = None,
) -> CashFlowOut:
    """Income, expense and net per month (every month of the period, zeros included) or per
    category. Transfers between the company's own accounts are neither income nor expense and
    are left out."""
    return await ReportService(session).cash_flow(caller.account_id, date_from, date_to,
                                                  group_by, bank_account_id)


@router.get("/balances", response_model=BalancesOut)
async def balances(
    session: SessionDep, caller: ReportsFeature,
    at: Annotated[date | None, Query(alias="date", description="Padrão: hoje")] = None,
) -> BalancesOut:
    """Each bank account's balance at the end of a date: opening balance plus every entry
    (transfers included, they do move money between accounts) dated on or before it."""
    return await ReportService(session).balances(caller.account_id, at or clock.today())


@router.get("/drift", response_model=DriftOut)
async def drift(session: SessionDep, caller: LucrumUser) -> DriftOut:
    """Recompute every balance from the opening balance and the ledger and compare it with the
    stored balance; `ok` is true when every drift is 0."""
    return await ReportService(session).drift(caller.account_id)


@router.get(
    "/transactions.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "CSV (;, vírgula decimal)"}},
)
async def export_transactions(
    session: SessionDep, caller: ReportsFeature, f: FiltersDep
) -> Response:
    """The ledger as CSV for a Brazilian spreadsheet: `;` separated, comma decimals,
    dd/mm/aaaa dates, UTF-8 with BOM, signed values (expenses negative). Same filters as
    `GET /api/financial-transactions`."""
    body = await ReportService(session).transactions_csv(caller.account_id, f)
    filename = f"lancamentos-{clock.today().isoformat()}.csv"
    return Response(
        content=body.encode("utf-8"), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
