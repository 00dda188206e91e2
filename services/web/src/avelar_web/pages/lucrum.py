"""Lucrum: bank accounts and balances, entries, transfers, statement import, cash flow."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import UploadFile
from starlette.responses import Response

from avelar_web.api import ApiError
from avelar_web.context import Page, get_page
from avelar_web.formatting import BRASILIA, parse_date, parse_money
from avelar_web.pages import field_errors, local_error

router = APIRouter()


def _today() -> date:
    return datetime.now(BRASILIA).date()


async def _accounts(page: Page) -> list[dict[str, Any]]:
    data = await page.call("Lucrum", "GET", "/api/bank-accounts")
    return list(data if isinstance(data, list) else data.get("items", []))


async def _pending(page: Page) -> list[dict[str, Any]]:
    """StockTech sales waiting for a default bank account (Lucrum posts them once one exists)."""
    data, _ = await page.try_call("Lucrum", "GET", "/api/pending-postings")
    return list(data) if isinstance(data, list) else []


@router.get("/lucrum")
async def accounts(page: Page = Depends(get_page)) -> Response:
    page.require_module("Lucrum")
    return page.render("bank_accounts.html", accounts=await _accounts(page),
                       pending=await _pending(page))


@router.post("/lucrum/contas")
async def create_account(page: Page = Depends(get_page)) -> Response:
    page.require_module("Lucrum")
    form = await page.form()
    errors: dict[str, str] = {}
    opening = local_error(errors, "opening_balance", parse_money,
                          form.get("opening_balance") or "0")
    if not errors:
        try:
            await page.call("Lucrum", "POST", "/api/bank-accounts", json={
                "name": form.get("name") or None, "bank_code": form.get("bank_code", ""),
                "agency": form.get("agency", ""), "account_number": form.get("account_number", ""),
                "account_type": form.get("account_type", "checking"),
                "opening_balance": str(opening)})
            return page.redirect("/lucrum", "Conta criada.")
        except ApiError as exc:
            errors, message = field_errors(exc), exc.message
    else:
        message = "Confira os campos destacados."
    return page.render("bank_accounts.html", status_code=422, accounts=await _accounts(page),
                       pending=await _pending(page), form=form, errors=errors, error=message)


async def _entries_page(page: Page, request: Request, status_code: int = 200,
                        **values: Any) -> Response:
    q = request.query_params
    params: dict[str, Any] = {"q": q.get("q") or None, "type": q.get("type") or None,
                              "bank_account_id": q.get("bank_account_id") or None,
                              "category_id": q.get("category_id") or None,
                              "page": q.get("page") or 1, "page_size": 50}
    filter_errors: dict[str, str] = {}
    for name in ("date_from", "date_to"):
        if q.get(name):
            value = local_error(filter_errors, name, parse_date, q[name])
            params[name] = value.isoformat() if value else None
    result = await page.call("Lucrum", "GET", "/api/financial-transactions", params=params)
    categories, _ = await page.try_call("Lucrum", "GET", "/api/categories")
    values.setdefault("errors", {})
    values["errors"] = {**filter_errors, **values["errors"]}
    return page.render("entries.html", status_code=status_code, result=result,
                       accounts=await _accounts(page), categories=categories or [],
                       filters=dict(q), today=_today(), **values)


@router.get("/lucrum/lancamentos")
async def entries(request: Request, page: Page = Depends(get_page)) -> Response:
    page.require_module("Lucrum")
    return await _entries_page(page, request)


@router.post("/lucrum/lancamentos")
async def create_entry(request: Request, page: Page = Depends(get_page)) -> Response:
    page.require_module("Lucrum")
    form = await page.form()
    errors: dict[str, str] = {}
    amount = local_error(errors, "amount", parse_money, form.get("amount", ""))
    when = local_error(errors, "transaction_date", parse_date, form.get("transaction_date", ""))
    if not errors:
        try:
            created = await page.call("Lucrum", "POST", "/api/financial-transactions", json={
                "bank_account_id": form.get("bank_account_id") or None,
                "description": form.get("description", ""), "amount": str(amount),
                "type": form.get("type", "expense"),
                "category_id": form.get("category_id") or None,
                "transaction_date": when.isoformat() if when else None})
            return page.redirect("/lucrum/lancamentos", f"Lançamento {created['code']} criado.")
        except ApiError as exc:
            return await _entries_page(page, request, exc.status, form=form,
                                       errors=field_errors(exc), error=exc.message)
    return await _entries_page(page, request, 422, form=form, errors=errors,
                               error="Confira os campos destacados.")


@router.post("/lucrum/lancamentos/{entry_id}/excluir")
async def delete_entry(entry_id: str, page: Page = Depends(get_page)) -> Response:
    page.require_module("Lucrum")
    await page.call("Lucrum", "DELETE", f"/api/financial-transactions/{entry_id}")
    return page.redirect("/lucrum/lancamentos", "Lançamento excluído.")


@router.get("/lucrum/transferencias")
async def transfers(page: Page = Depends(get_page)) -> Response:
    page.require_module("Lucrum")
    data = await page.call("Lucrum", "GET", "/api/transfers")
    return page.render("transfers.html", transfers=data if isinstance(data, list) else
                       data.get("items", []), accounts=await _accounts(page))


@router.post("/lucrum/transferencias")
async def create_transfer(page: Page = Depends(get_page)) -> Response:
    page.require_module("Lucrum")
    form = await page.form()
    errors: dict[str, str] = {}
    amount = local_error(errors, "amount", parse_money, form.get("amount", ""))
    when = local_error(errors, "transfer_date", parse_date, form.get("transfer_date", ""))
    if not errors:
        try:
            await page.call("Lucrum", "POST", "/api/transfers", json={
                "from_bank_account_id": form.get("from_bank_account_id") or None,
                "to_bank_account_id": form.get("to_bank_account_id") or None,
                "amount": str(amount), "description": form.get("description") or None,
                "transfer_date": when.isoformat() if when else None})
            return page.redirect("/lucrum/transferencias", "Transferência registrada.")
        except ApiError as exc:
            errors, message = field_errors(exc), exc.message
    else:
        message = "Confira os campos destacados."
    data = await page.call("Lucrum", "GET", "/api/transfers")
    return page.render("transfers.html", status_code=422, transfers=data if isinstance(
        data, list) else data.get("items", []), accounts=await _accounts(page), form=form,
        errors=errors, error=message)


@router.get("/lucrum/importar")
async def import_form(page: Page = Depends(get_page)) -> Response:
    page.require_module("Lucrum")
    return page.render("import.html", accounts=await _accounts(page), result=None)


@router.post("/lucrum/importar")
async def import_statement(request: Request, page: Page = Depends(get_page)) -> Response:
    page.require_module("Lucrum")
    data = await request.form()
    upload = data.get("file")
    account_id = str(data.get("bank_account_id") or "")
    errors: dict[str, str] = {}
    result = None
    error = None
    if not isinstance(upload, UploadFile) or not upload.filename:
        errors["file"] = "Escolha o arquivo do extrato (OFX ou CSV)"
    elif not account_id:
        errors["bank_account_id"] = "Escolha a conta"
    else:
        content = await upload.read()
        try:
            result = await page.call(
                "Lucrum", "POST", f"/api/bank-accounts/{account_id}/import",
                files={"file": (upload.filename, content,
                                upload.content_type or "application/octet-stream")})
        except ApiError as exc:
            errors, error = field_errors(exc), exc.message
    return page.render("import.html", status_code=422 if errors else 200,
                       accounts=await _accounts(page), result=result, errors=errors,
                       error=error)


@router.get("/lucrum/fluxo")
async def cash_flow(request: Request, page: Page = Depends(get_page)) -> Response:
    page.require_module("Lucrum")
    q = request.query_params
    errors: dict[str, str] = {}
    today = _today()
    start = local_error(errors, "from", parse_date, q.get("from", "")) or \
        (today.replace(day=1) - timedelta(days=150)).replace(day=1)
    end = local_error(errors, "to", parse_date, q.get("to", "")) or today
    group_by = q.get("group_by") if q.get("group_by") in ("month", "category") else "month"
    report, notice = await page.try_call("Lucrum", "GET", "/api/reports/cash-flow", params={
        "from": start.isoformat(), "to": end.isoformat(), "group_by": group_by})
    balances, _ = await page.try_call("Lucrum", "GET", "/api/reports/balances",
                                      params={"date": end.isoformat()})
    chart = None
    if report:
        labels = [r.get("period") or r.get("category") or "Sem categoria"
                  for r in report["rows"]]
        if group_by == "month":
            labels = [f"{p[5:7]}/{p[:4]}" if len(p) == 7 else p for p in labels]
        chart = json.dumps({"labels": labels,
                            "income": [float(r["income"]) for r in report["rows"]],
                            "expense": [float(r["expense"]) for r in report["rows"]]})
    return page.render("cash_flow.html", report=report, notice=notice, chart=chart,
                       balances=balances, group_by=group_by, start=start, end=end,
                       errors=errors)


@router.get("/lucrum/exportar.csv")
async def export_csv(request: Request, page: Page = Depends(get_page)) -> Response:
    page.require_module("Lucrum")
    resp = await page.api.request("Lucrum", "GET", "/api/reports/transactions.csv",
                                  token=page.token, params=dict(request.query_params))
    if resp.status_code >= 400:
        from avelar_web.api import problem_of

        raise problem_of(resp)
    return page.session.apply(Response(resp.content, media_type="text/csv", headers={
        "Content-Disposition": 'attachment; filename="lancamentos.csv"'}))
