from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from avelar_kit.errors import NotFound
from lucrum import clock, ledger
from lucrum.bank_accounts import service as bank_accounts
from lucrum.codes import CodeGenerator
from lucrum.transactions import repository as tx_repo
from lucrum.transactions.models import FinancialTransaction, TransactionSource, TransactionType
from lucrum.transactions.service import Posting, insert_entry
from lucrum.transfers import repository as repo
from lucrum.transfers.models import Transfer
from lucrum.transfers.schemas import LegOut, TransferCreate, TransferOut

DEFAULT_DESCRIPTION = "Transferência entre contas"


class TransferNotFound(NotFound):
    code = "transfer_not_found"


def to_out(transfer: Transfer, legs: Sequence[FinancialTransaction]) -> TransferOut:
    by_type = {TransactionType(leg.type): leg for leg in legs}
    out = by_type.get(TransactionType.transfer_out)
    inc = by_type.get(TransactionType.transfer_in)
    return TransferOut(
        id=transfer.id, from_bank_account_id=transfer.from_bank_account_id,
        to_bank_account_id=transfer.to_bank_account_id, amount=transfer.amount,
        transfer_date=transfer.transfer_date, description=transfer.description,
        outgoing=LegOut(id=out.id, code=out.code, bank_account_id=out.bank_account_id)
        if out else None,
        incoming=LegOut(id=inc.id, code=inc.code, bank_account_id=inc.bank_account_id)
        if inc else None,
        created_at=transfer.created_at,
    )


async def create(
    session: AsyncSession, company: uuid.UUID, user_id: uuid.UUID | None, data: TransferCreate,
    *, codes: CodeGenerator,
) -> TransferOut:
    """One operation: the transfer row, an outgoing leg, an incoming leg and both balances, all
    in the request's database transaction (all or nothing). An overdraft is allowed: a
    checking account in Brazil may go negative (cheque especial)."""
    origin = await bank_accounts.get_active(session, company, data.from_bank_account_id)
    target = await bank_accounts.get_active(session, company, data.to_bank_account_id)
    when = data.transfer_date or clock.today()
    description = data.description or DEFAULT_DESCRIPTION
    transfer = Transfer(id=uuid.uuid4(), account_id=company,
                        from_bank_account_id=origin.id, to_bank_account_id=target.id,
                        amount=data.amount, transfer_date=when, description=description,
                        created_by=user_id)
    session.add(transfer)
    await session.flush()
    legs = []
    for bank_account_id, kind in ((origin.id, TransactionType.transfer_out),
                                  (target.id, TransactionType.transfer_in)):
        legs.append(await insert_entry(session, Posting(
            company=company, bank_account_id=bank_account_id, type=kind, amount=data.amount,
            description=description, transaction_date=when, source=TransactionSource.transfer,
            transfer_id=transfer.id, created_by=user_id,
        ), codes))
    await ledger.apply_deltas(session, ledger.merge([ledger.effect(leg) for leg in legs]))
    await session.refresh(transfer)
    return to_out(transfer, legs)


async def get(session: AsyncSession, company: uuid.UUID, transfer_id: uuid.UUID) -> TransferOut:
    transfer = await repo.get(session, company, transfer_id)
    if transfer is None:
        raise TransferNotFound("Transferência não encontrada")
    return to_out(transfer, await repo.legs(session, [transfer.id]))


async def page(
    session: AsyncSession, company: uuid.UUID, *, offset: int, limit: int
) -> tuple[list[TransferOut], int]:
    transfers, total = await repo.page(session, company, offset=offset, limit=limit)
    legs = await repo.legs(session, [t.id for t in transfers])
    by_transfer: dict[uuid.UUID, list[FinancialTransaction]] = {}
    for leg in legs:
        assert leg.transfer_id is not None
        by_transfer.setdefault(leg.transfer_id, []).append(leg)
    return [to_out(t, by_transfer.get(t.id, [])) for t in transfers], total


async def delete(session: AsyncSession, company: uuid.UUID, transfer_id: uuid.UUID) -> None:
    """Undo a transfer: both legs go and both balances are restored, atomically."""
    transfer = await repo.get(session, company, transfer_id, for_update=True)
    if transfer is None:
        raise TransferNotFound("Transferência não encontrada")
    legs = await tx_repo.legs_of(session, transfer.id, for_update=True)
    reversal = ledger.merge([(bid, -delta) for bid, delta in map(ledger.effect, legs)])
    for leg in legs:
        await session.delete(leg)
    await session.delete(transfer)
    await session.flush()
    await ledger.apply_deltas(session, reversal)
