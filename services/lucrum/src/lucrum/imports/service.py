"""Bank statement import: parse, insert what is new, update the balance once."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from avelar_kit.errors import ServiceUnavailable, Unprocessable
from lucrum import ledger
from lucrum.bank_accounts import service as bank_accounts
from lucrum.codes import CodeGenerator
from lucrum.imports.csv_reader import AmountFormat, parse_csv
from lucrum.imports.ofx import looks_like_ofx, parse_ofx
from lucrum.imports.parsed import Entry, ParseResult, StatementFormatError
from lucrum.imports.schemas import ImportResult, RejectedLine
from lucrum.transactions.models import FinancialTransaction, TransactionSource, TransactionType

CHUNK = 500
CODE_ROUNDS = 12


def parse(data: bytes, filename: str | None, amount_format: AmountFormat) -> ParseResult:
    name = (filename or "").lower()
    try:
        if looks_like_ofx(data) or name.endswith((".ofx", ".qfx")):
            return parse_ofx(data)
        return parse_csv(data, amount_format)
    except StatementFormatError as exc:
        raise Unprocessable(str(exc), code="invalid_statement") from exc


async def _insert_chunk(
    session: AsyncSession, company: uuid.UUID, bank_account_id: uuid.UUID,
    user_id: uuid.UUID | None, entries: list[Entry], codes: CodeGenerator,
) -> tuple[list[Entry], int]:
    """Insert entries not seen before; returns (inserted, duplicates).

    ``ON CONFLICT DO NOTHING`` skips rows whose bank id is already on this account (also when a
    concurrent import of the same file commits first: the insert waits for it, then skips). A
    row can also be skipped because its random code collided; those are told apart by looking
    the bank ids up, and retried with new codes.
    """
    pending = {e.external_id: e for e in entries}
    inserted: list[Entry] = []
    duplicates = 0
    for _ in range(CODE_ROUNDS):
        if not pending:
            return inserted, duplicates
        rows: list[dict[str, Any]] = [
            {"id": uuid.uuid4(), "account_id": company, "bank_account_id": bank_account_id,
             "code": codes(), "description": e.description, "amount": abs(e.amount),
             "type": TransactionType.income if e.amount > 0 else TransactionType.expense,
             "transaction_date": e.transaction_date, "source": TransactionSource.import_,
             "external_id": e.external_id, "created_by": user_id}
            for e in pending.values()
        ]
        result = await session.execute(
            insert(FinancialTransaction).values(rows).on_conflict_do_nothing()
            .returning(FinancialTransaction.external_id)
        )
        for (external_id,) in result.all():
            inserted.append(pending.pop(str(external_id)))
        if not pending:
            break
        existing = await session.execute(
            select(FinancialTransaction.external_id).where(
                FinancialTransaction.bank_account_id == bank_account_id,
                FinancialTransaction.external_id.in_(list(pending)),
            )
        )
        for (external_id,) in existing.all():
            pending.pop(str(external_id), None)
            duplicates += 1
    if pending:
        raise ServiceUnavailable("Não foi possível gerar códigos únicos; tente novamente",
                                 code="code_generation_failed", retry_after=1)
    return inserted, duplicates


async def import_statement(
    session: AsyncSession, company: uuid.UUID, user_id: uuid.UUID | None,
    bank_account_id: uuid.UUID, data: bytes, filename: str | None,
    amount_format: AmountFormat, *, codes: CodeGenerator,
) -> ImportResult:
    await bank_accounts.get_active(session, company, bank_account_id)
    parsed = parse(data, filename, amount_format)
    imported: list[Entry] = []
    duplicates = parsed.duplicates_in_file
    for start in range(0, len(parsed.entries), CHUNK):
        chunk = parsed.entries[start:start + CHUNK]
        done, dups = await _insert_chunk(session, company, bank_account_id, user_id, chunk,
                                         codes)
        imported.extend(done)
        duplicates += dups
    total = sum((e.amount for e in imported), Decimal(0))
    await ledger.apply_deltas(session, {bank_account_id: total})
    return ImportResult(
        format="ofx" if parsed.format == "ofx" else "csv",
        imported=len(imported), skipped_duplicates=duplicates,
        rejected=[RejectedLine(line=r.line, fitid=r.fitid, reason=r.reason)
                  for r in parsed.rejected],
    )
