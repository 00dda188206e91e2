"""Transfers between two accounts of one company: the transfer row and its two ledger legs."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from avelar_kit.audit import record_audit, snapshot
from avelar_kit.errors import NotFound
from lucrum import clock, ledger
from lucrum.audit.models import AuditLog
from lucrum.bank_accounts.repository import BankAccountRepository
from lucrum.bank_accounts.service import BankAccountService
from lucrum.transactions.codes import CodeGenerator, random_code
from lucrum.transactions.models import FinancialTransaction, TransactionSource, TransactionType
from lucrum.transactions.repository import TransactionRepository
from lucrum.transactions.service import Posting, TransactionService
from lucrum.transfers.models import Transfer
from lucrum.transfers.repository import TransferRepository
from lucrum.transfers.schemas import LegOut, TransferCreate, TransferOut

DEFAULT_DESCRIPTION = "Transferência entre contas"


class TransferNotFound(NotFound):
    code = "transfer_not_found"


def _leg(leg: FinancialTransaction | None) -> LegOut | None:
    if leg is None:
        return None
    return LegOut(id=leg.id, code=leg.code, bank_account_id=leg.bank_account_id)


def to_out(transfer: Transfer, legs: Sequence[FinancialTransaction]) -> TransferOut:
    by_type = {TransactionType(leg.type): leg for leg in legs}
    return TransferOut(
        id=transfer.id, from_bank_account_id=transfer.from_bank_account_id,
        to_bank_account_id=transfer.to_bank_account_id, amount=transfer.amount,
        transfer_date=transfer.transfer_date, description=transfer.description,
        outgoing=_leg(by_type.get(TransactionType.transfer_out)),
        incoming=_leg(by_type.get(TransactionType.transfer_in)),
        created_at=transfer.created_at,
    )


class TransferService:
    def __init__(self, session: AsyncSession, codes: CodeGenerator = random_code) -> None:
        self.session = session
        self.codes = codes
        self.repo = TransferRepository(session)

    async def create(
        self, company: uuid.UUID, user_id: uuid.UUID | None, data: TransferCreate
    ) -> TransferOut:
        """One operation: the transfer row, an outgoing leg, an incoming leg and both balances,
        all in the request's database transaction (all or nothing). An overdraft is allowed: a
        checking account in Brazil may go negative (cheque especial)."""
        bank_accounts = BankAccountService(self.session)
        origin = await bank_accounts.get_active(company, data.from_bank_account_id)
        target = await bank_accounts.get_active(company, data.to_bank_account_id)
        when = data.transfer_date or clock.today()
        description = data.description or DEFAULT_DESCRIPTION
        transfer = Transfer(id=uuid.uuid4(), account_id=company,
                            from_bank_account_id=origin.id, to_bank_account_id=target.id,
                            amount=data.amount, transfer_date=when, description=description,
                            created_by=user_id)
        await self.repo.add(transfer)
        entries = TransactionService(self.session, self.codes)
        legs = []
        for bank_account_id, kind in ((origin.id, TransactionType.transfer_out),
                                      (target.id, TransactionType.transfer_in)):
            legs.append(await entries.insert_entry(Posting(
                company=company, bank_account_id=bank_account_id, type=kind,
                amount=data.amount, description=description, transaction_date=when,
                source=TransactionSource.transfer, transfer_id=transfer.id, created_by=user_id,
            )))
        await BankAccountRepository(self.session).apply_deltas(
            ledger.merge([ledger.effect(leg) for leg in legs]))
        await self.session.refresh(transfer)
        return to_out(transfer, legs)

    async def get(self, company: uuid.UUID, transfer_id: uuid.UUID) -> TransferOut:
        transfer = await self.repo.get(company, transfer_id)
        if transfer is None:
            raise TransferNotFound("Transferência não encontrada")
        return to_out(transfer, await self.repo.legs([transfer.id]))

    async def page(
        self, company: uuid.UUID, *, offset: int, limit: int
    ) -> tuple[list[TransferOut], int]:
        transfers, total = await self.repo.page(company, offset=offset, limit=limit)
        legs = await self.repo.legs([t.id for t in transfers])
        by_transfer: dict[uuid.UUID, list[FinancialTransaction]] = {}
        for leg in legs:
            assert leg.transfer_id is not None
            by_transfer.setdefault(leg.transfer_id, []).append(leg)
        return [to_out(t, by_transfer.get(t.id, [])) for t in transfers], total

    async def delete(self, company: uuid.UUID, transfer_id: uuid.UUID, *, actor: str) -> None:
        """Undo a transfer: both legs go and both balances are restored, atomically."""
        transfer = await self.repo.get(company, transfer_id, for_update=True)
        if transfer is None:
            raise TransferNotFound("Transferência não encontrada")
        record_audit(self.session, AuditLog, actor=actor, action="transfer.deleted",
                     account_id=company, target=f"transfer:{transfer.id}", after={},
                     before=snapshot(transfer, [c.key for c in transfer.__table__.columns
                                                if c.key not in ("id", "account_id")]))
        legs = await TransactionRepository(self.session).legs_of(transfer.id, for_update=True)
        reversal = ledger.merge([(bid, -delta) for bid, delta in map(ledger.effect, legs)])
        for leg in legs:
            await self.session.delete(leg)
        await self.session.delete(transfer)
        await self.session.flush()
        await BankAccountRepository(self.session).apply_deltas(reversal)
