"""Bank statement import: parse, insert what is new, update the balance once."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from avelar_kit.errors import ServiceUnavailable, Unprocessable
from lucrum.bank_accounts.repository import BankAccountRepository
from lucrum.bank_accounts.service import BankAccountService
from lucrum.imports.csv_reader import AmountFormat, parse_csv
from lucrum.imports.ofx import looks_like_ofx, parse_ofx
from lucrum.imports.parsed import Entry, ParseResult, StatementFormatError
from lucrum.imports.schemas import ImportResult, RejectedLine
from lucrum.transactions.codes import CodeGenerator, random_code
from lucrum.transactions.models import TransactionSource, TransactionType
from lucrum.transactions.repository import TransactionRepository

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


class ImportService:
    def __init__(self, session: AsyncSession, codes: CodeGenerator = random_code) -> None:
        self.session = session
        self.codes = codes
        self.transactions = TransactionRepository(session)

    async def import_statement(
        self, company: uuid.UUID, user_id: uuid.UUID | None, bank_account_id: uuid.UUID,
        data: bytes, filename: str | None, amount_format: AmountFormat,
    ) -> ImportResult:
        await BankAccountService(self.session).get_active(company, bank_account_id)
        parsed = parse(data, filename, amount_format)
        imported: list[Entry] = []
        duplicates = parsed.duplicates_in_file
        for start in range(0, len(parsed.entries), CHUNK):
            chunk = parsed.entries[start:start + CHUNK]
            done, dups = await self._insert_chunk(company, bank_account_id, user_id, chunk)
            imported.extend(done)
            duplicates += dups
        total = sum((e.amount for e in imported), Decimal(0))
        await BankAccountRepository(self.session).apply_deltas({bank_account_id: total})
        return ImportResult(
            format="ofx" if parsed.format == "ofx" else "csv",
            imported=len(imported), skipped_duplicates=duplicates,
            rejected=[RejectedLine(line=r.line, fitid=r.fitid, reason=r.reason)
                      for r in parsed.rejected],
        )

    async def _insert_chunk(
        self, company: uuid.UUID, bank_account_id: uuid.UUID, user_id: uuid.UUID | None,
        entries: list[Entry],
    ) -> tuple[list[Entry], int]:
        """Insert entries not seen before; returns (inserted, duplicates).

        ``ON CONFLICT DO NOTHING`` skips rows whose bank id is already on this account (also
        when a concurrent import of the same file commits first: the insert waits for it, then
        skips). A row can also be skipped because its random code collided; those are told
        apart by looking the bank ids up, and retried with new codes.
        """
        pending = {e.external_id: e for e in entries}
        inserted: list[Entry] = []
        duplicates = 0
        for _ in range(CODE_ROUNDS):
            if not pending:
                return inserted, duplicates
            rows: list[dict[str, Any]] = [
                {"id": uuid.uuid4(), "account_id": company, "bank_account_id": bank_account_id,
                 "code": self.codes(), "description": e.description, "amount": abs(e.amount),
                 "type": TransactionType.income if e.amount > 0 else TransactionType.expense,
                 "transaction_date": e.transaction_date, "source": TransactionSource.import_,
                 "external_id": e.external_id, "created_by": user_id}
                for e in pending.values()
            ]
            for external_id in await self.transactions.insert_new(rows):
                inserted.append(pending.pop(external_id))
            if not pending:
                break
            for external_id in await self.transactions.known_external_ids(bank_account_id,
                                                                          pending):
                pending.pop(external_id, None)
                duplicates += 1
        if pending:
            raise ServiceUnavailable("Não foi possível gerar códigos únicos; tente novamente",
                                     code="code_generation_failed", retry_after=1)
        return inserted, duplicates
