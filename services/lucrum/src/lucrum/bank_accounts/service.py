"""Bank accounts of a company: identity, the default account, the opening balance."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from avelar_kit.audit import record_audit, snapshot
from avelar_kit.errors import Conflict, NotFound, Unprocessable
from lucrum.audit.models import AuditLog
from lucrum.bank_accounts.models import BankAccount
from lucrum.bank_accounts.repository import BankAccountRepository
from lucrum.bank_accounts.schemas import BankAccountCreate, BankAccountUpdate, ReconcileOut
from lucrum.banks.data import bank_name


class BankAccountNotFound(NotFound):
    code = "bank_account_not_found"


def raise_null(field: str) -> None:
    raise Unprocessable(f"O campo {field} não pode ser nulo", code="null_not_allowed")


def _identity_taken() -> Conflict:
    return Conflict("Esta conta (banco, agência e número) já está cadastrada",
                    code="bank_account_exists")


async def _post_pending(session: AsyncSession, company: uuid.UUID) -> None:
    # Imported here: the event handlers use the transactions service, which uses this one.
    from lucrum.events.handlers import post_pending

    await post_pending(session, company)


# What a bank account's audit row shows of it.
AUDITED_FIELDS = ("name", "bank_code", "agency", "account_number", "account_type",
                  "opening_balance", "is_default", "is_active")


class BankAccountService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = BankAccountRepository(session)

    async def list(self, company: uuid.UUID, *, include_inactive: bool) -> Sequence[BankAccount]:
        return await self.repo.list_for(company, include_inactive=include_inactive)

    async def get(self, company: uuid.UUID, bank_account_id: uuid.UUID) -> BankAccount:
        account = await self.repo.get(company, bank_account_id)
        if account is None:
            raise BankAccountNotFound("Conta bancária não encontrada")
        return account

    async def get_active(self, company: uuid.UUID, bank_account_id: uuid.UUID) -> BankAccount:
        """A bank account of this company that can receive postings (404 / 409 otherwise)."""
        account = await self.get(company, bank_account_id)
        if not account.is_active:
            raise Conflict("A conta bancária está desativada; reative-a antes de lançar nela",
                           code="bank_account_inactive")
        return account

    async def create(self, company: uuid.UUID, data: BankAccountCreate, *,
                     actor: str) -> BankAccount:
        if await self.repo.identity_taken(company, data.bank_code, data.agency,
                                          data.account_number):
            raise _identity_taken()
        make_default = data.is_default
        if make_default is None:
            make_default = not await self.repo.has_default(company)
        if make_default:
            await self.repo.clear_default(company)
        account = BankAccount(
            id=uuid.uuid4(), account_id=company,
            name=data.name or bank_name(data.bank_code) or data.bank_code,
            bank_code=data.bank_code, agency=data.agency, account_number=data.account_number,
            account_type=data.account_type, opening_balance=data.opening_balance,
            balance=data.opening_balance, is_default=make_default, is_active=True,
        )
        await self.repo.add(account)
        if make_default:
            await _post_pending(self.session, company)  # sales that waited for an account
        await self.session.refresh(account)
        record_audit(self.session, AuditLog, actor=actor, action="bank_account.created",
                     account_id=company, target=f"bank_account:{account.id}", before={},
                     after=snapshot(account, AUDITED_FIELDS))
        return account

    async def update(
        self, company: uuid.UUID, bank_account_id: uuid.UUID, data: BankAccountUpdate, *,
        actor: str,
    ) -> BankAccount:
        account = await self.get(company, bank_account_id)
        before = snapshot(account, AUDITED_FIELDS)
        changes = data.model_dump(exclude_unset=True)
        for field in ("name", "bank_code", "agency", "account_number", "account_type",
                      "is_active", "is_default", "opening_balance"):
            if field in changes and changes[field] is None:
                raise_null(field)
        await self._check_identity(company, account, changes)
        is_active = changes.get("is_active", account.is_active)
        is_default = changes.get("is_default", account.is_default)
        if not is_active and changes.get("is_default") is True:
            raise Conflict("Uma conta desativada não pode ser a conta padrão",
                           code="default_must_be_active")
        if not is_active:
            is_default = False
        became_default = is_default and not account.is_default
        if became_default:
            await self._move_default_here(company, account)
        for field in ("name", "bank_code", "agency", "account_number", "account_type"):
            if field in changes:
                setattr(account, field, changes[field])
        account.is_active = is_active
        account.is_default = is_default
        await self.session.flush()
        if "opening_balance" in changes:
            await self.repo.set_opening_balance(account.id, changes["opening_balance"])
        if became_default:
            await _post_pending(self.session, company)
        await self.session.refresh(account)
        self._audit_update(actor, account, before)
        return account

    def _audit_update(self, actor: str, account: BankAccount, before: dict[str, object]) -> None:
        after = snapshot(account, AUDITED_FIELDS)
        changed = [f for f in AUDITED_FIELDS if before[f] != after[f]]
        if changed:
            record_audit(self.session, AuditLog, actor=actor, action="bank_account.updated",
                         account_id=account.account_id, target=f"bank_account:{account.id}",
                         before={f: before[f] for f in changed},
                         after={f: after[f] for f in changed})

    async def _check_identity(self, company: uuid.UUID, account: BankAccount,
                              changes: dict[str, object]) -> None:
        bank_code = str(changes.get("bank_code", account.bank_code))
        agency = str(changes.get("agency", account.agency))
        number = str(changes.get("account_number", account.account_number))
        if (bank_code, agency, number) == (account.bank_code, account.agency,
                                           account.account_number):
            return
        if await self.repo.identity_taken(company, bank_code, agency, number,
                                          except_id=account.id):
            raise _identity_taken()

    async def _move_default_here(self, company: uuid.UUID, account: BankAccount) -> None:
        previous = await self.repo.default_for(company)
        # Both rows locked up front in id order; locking the old default first and this one at
        # the flush deadlocked with transfers between the two.
        await self.repo.lock([account.id] + ([previous.id] if previous else []))
        await self.repo.clear_default(company, except_id=account.id)
        await self.session.flush()

    async def remove(self, company: uuid.UUID, bank_account_id: uuid.UUID, *,
                     actor: str) -> bool:
        """Hard delete when nothing refers to the account; otherwise deactivate it (its history
        stays). Returns True when it was deleted."""
        account = await self.get(company, bank_account_id)
        before = snapshot(account, AUDITED_FIELDS)
        target = f"bank_account:{account.id}"
        if await self.repo.is_referenced(account.id):
            account.is_active = False
            account.is_default = False
            await self.session.flush()
            record_audit(self.session, AuditLog, actor=actor, action="bank_account.deactivated",
                         account_id=company, target=target,
                         before={"is_active": before["is_active"],
                                 "is_default": before["is_default"]},
                         after={"is_active": False, "is_default": False})
            return False
        await self.session.delete(account)
        await self.session.flush()
        record_audit(self.session, AuditLog, actor=actor, action="bank_account.deleted",
                     account_id=company, target=target, before=before, after={})
        return True

    async def reconcile(self, company: uuid.UUID, bank_account_id: uuid.UUID) -> ReconcileOut:
        await self.get(company, bank_account_id)
        (bid, opening, ledger, balance), = await self.repo.ledger_sums(company, bank_account_id)
        computed = opening + ledger
        return ReconcileOut(bank_account_id=bid, opening_balance=opening, ledger_sum=ledger,
                            computed_balance=computed, balance=balance,
                            drift=balance - computed)
