"""Billing rules: checkout, what a MercadoPago payment means for a company, dunning.

Nothing here trusts a webhook's body: a notification only says which resource to read, and the
payment or preapproval is fetched from the gateway and checked (amount, currency,
external_reference) before anything changes. Applying is idempotent by ``mercadopago_id`` and
ordered by MercadoPago's ``date_last_updated``: a state older than the one applied is ignored,
and paid is final.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from avadmin import events
from avadmin.accounts.models import Account, AccountStatus
from avadmin.accounts.repository import AccountRepository
from avadmin.accounts.service import AccountService
from avadmin.audit.models import AuditLog
from avadmin.billing.gateway import GatewayError, PaymentGateway, PaymentInfo, PreapprovalInfo
from avadmin.billing.models import BillingMethod, BillingStatus, BillingTransaction, Subscription
from avadmin.billing.repository import BillingRepository
from avadmin.billing.schemas import CheckoutIn
from avadmin.billing.usage import StockTechUsage, read_usage, refuse_if_exceeds
from avadmin.config import Settings
from avadmin.plans.models import BillingCycle, Plan
from avadmin.plans.repository import PlanRepository
from avelar_kit.audit import record_audit
from avelar_kit.db.base import utcnow
from avelar_kit.db.tenancy import act_as_system
from avelar_kit.errors import Conflict, NotFound, ServiceUnavailable, Unprocessable

logger = logging.getLogger("avadmin.billing")

CENT = Decimal("0.01")
PAID_STATUSES = frozenset({"approved"})
FAILED_STATUSES = frozenset({"rejected", "cancelled"})
ACTOR = "system:billing"


def cycle_months(cycle: BillingCycle) -> int:
    return 12 if cycle == BillingCycle.yearly else 1


def monthly_price(plan: Plan) -> Decimal:
    return plan.price / cycle_months(plan.billing_cycle)


def price_for(plan: Plan, cycle: BillingCycle) -> Decimal:
    """The plan's price for a cycle: a year is twelve months of the plan's monthly price."""
    return (monthly_price(plan) * cycle_months(cycle)).quantize(CENT, ROUND_HALF_UP)


def add_months(at: datetime, months: int) -> datetime:
    month = at.month - 1 + months
    year, month = at.year + month // 12, month % 12 + 1
    days = [31, 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28, 31, 30,
            31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    return at.replace(year=year, month=month, day=min(at.day, days))


def describe(plan: Plan, cycle: BillingCycle) -> str:
    return f"AvelarSys {plan.name} ({'anual' if cycle == BillingCycle.yearly else 'mensal'})"


def is_downgrade(current: Plan, target: Plan) -> bool:
    return monthly_price(target) < monthly_price(current)


@dataclass
class CheckoutResult:
    tx: BillingTransaction
    replayed: bool
    applies: str  # on_payment | at_period_end
    effective_at: datetime | None


def _already_applied(tx: BillingTransaction, p: PaymentInfo) -> str | None:
    """A notification that tells nothing new (paid already, older or the same state)."""
    if tx.status == BillingStatus.paid:
        return "duplicate: already paid"
    if tx.gateway_updated_at is not None and p.updated_at < tx.gateway_updated_at:
        return "stale: older than the state applied"
    if (tx.gateway_updated_at is not None and p.updated_at == tx.gateway_updated_at
            and tx.gateway_status == p.status):
        return "duplicate: same state"
    return None


class BillingService:
    """What a company's admin does: checkout, and read its transactions and subscription."""

    def __init__(self, session: AsyncSession, settings: Settings, gateway: PaymentGateway | None,
                 usage: StockTechUsage | None = None) -> None:
        self.session = session
        self.settings = settings
        self.gateway = gateway
        self.usage = usage
        self.repo = BillingRepository(session)
        self.accounts = AccountRepository(session)

    def _gateway(self) -> PaymentGateway:
        if self.gateway is None:
            raise ServiceUnavailable("Pagamentos não configurados neste ambiente",
                                     code="gateway_not_configured", retry_after=60)
        return self.gateway

    async def _plan(self, data: CheckoutIn) -> Plan:
        plans = PlanRepository(self.session)
        plan = (await plans.get(data.plan_id) if data.plan_id is not None
                else await plans.get_by_name(data.plan_name or ""))
        if plan is None or not plan.is_active:
            raise Unprocessable("Plano não encontrado ou inativo", code="plan_not_found",
                                extra={"errors": [{"field": "plan_id" if data.plan_id
                                                   else "plan_name",
                                                   "message": "plano inexistente"}]})
        if plan.price <= 0:
            raise Unprocessable(f"O plano {plan.name} é gratuito; não há o que pagar",
                                code="plan_is_free")
        return plan

    def _applies(self, account: Account, plan: Plan, sub: Subscription | None
                 ) -> tuple[str, datetime | None]:
        now = utcnow()
        if (plan.id != account.plan_id and is_downgrade(account.plan, plan) and sub is not None
                and sub.paid_until is not None and sub.paid_until > now):
            return "at_period_end", sub.paid_until
        return "on_payment", None

    async def checkout(self, account_id: uuid.UUID, actor: str, data: CheckoutIn,
                       key: str) -> CheckoutResult:
        account = await self.accounts.get(account_id, for_update=True)  # one checkout at once
        if account is None:
            raise NotFound("Empresa não encontrada", code="account_not_found")
        sub = await self.repo.subscription(account_id)
        existing = await self.repo.by_idempotency_key(account_id, key)
        if existing is not None:
            same = ((data.plan_id in (None, existing.plan_id))
                    and (data.plan_name in (None, existing.plan.name))
                    and existing.cycle == data.cycle and existing.method == data.method)
            if not same:
                raise Conflict("Esta Idempotency-Key já foi usada para outro checkout",
                               code="idempotency_key_reused")
            applies, when = self._applies(account, existing.plan, sub)
            return CheckoutResult(existing, True, applies, when)
        plan = await self._plan(data)
        if plan.id != account.plan_id:
            refuse_if_exceeds(await read_usage(self.session, account_id, self.usage), plan)
        gateway = self._gateway()
        amount = price_for(plan, data.cycle)
        tx = await self.repo.add_transaction(BillingTransaction(
            account_id=account_id, plan_id=plan.id, amount=amount, method=data.method,
            cycle=data.cycle, currency="BRL", idempotency_key=key,
            status=BillingStatus.pending))
        tx.external_reference = str(tx.id)
        email = (data.payer_email
                 or f"billing+{account_id.hex[:12]}@{self.settings.payer_email_domain}")
        reason = describe(plan, data.cycle)
        notify = f"{self.settings.public_url.rstrip('/')}/api/billing/webhooks/mercadopago"
        back = f"{self.settings.public_url.rstrip('/')}/api/billing/subscription"
        try:
            if data.method == BillingMethod.pix:
                expires = utcnow() + timedelta(minutes=self.settings.pix_expiration_minutes)
                charge = await gateway.create_pix(
                    amount=amount, description=reason, external_reference=tx.external_reference,
                    payer_email=email, expires_at=expires, notification_url=notify,
                    idempotency_key=f"avelar-{tx.id}")
                tx.mercadopago_id = charge.payment.id
                tx.gateway_status = charge.payment.status
                tx.gateway_updated_at = charge.payment.updated_at
                tx.pix_qr_code = charge.qr_code
                tx.pix_qr_code_base64 = charge.qr_code_base64
                tx.checkout_url = charge.ticket_url
                tx.expires_at = charge.expires_at or expires
            else:
                plan_ref = await self._gateway_plan(gateway, plan, data.cycle, amount, back)
                pre = await gateway.create_preapproval(
                    preapproval_plan_id=plan_ref, reason=reason,
                    external_reference=tx.external_reference, payer_email=email, back_url=back,
                    notification_url=notify, card_token_id=data.card_token_id)
                tx.preapproval_id = pre.id
                tx.checkout_url = pre.init_point
                tx.gateway_status = pre.status
        except GatewayError as exc:
            logger.warning("checkout %s refused by the gateway: %s", tx.id, exc)
            raise Unprocessable("O MercadoPago recusou a cobrança; confira os dados e tente de "
                                "novo", code="gateway_refused") from exc
        await self.session.flush()
        record_audit(self.session, AuditLog, actor=actor, action="billing.checkout",
                     account_id=account_id, target=f"billing_transaction:{tx.id}",
                     before={}, after={"plan": plan.name, "method": data.method.value,
                                       "cycle": data.cycle.value, "amount": f"{amount:.2f}",
                                       "status": tx.status.value},
                     details={"current_plan": account.plan.name})
        applies, when = self._applies(account, plan, sub)
        return CheckoutResult(tx, False, applies, when)

    async def _gateway_plan(self, gateway: PaymentGateway, plan: Plan, cycle: BillingCycle,
                            amount: Decimal, back: str) -> str:
        known = await self.repo.gateway_plan(plan.id, cycle, amount)
        if known is not None:
            return known.preapproval_plan_id
        ref = await gateway.create_plan(
            reason=describe(plan, cycle), months=cycle_months(cycle), amount=amount, back_url=back)
        await self.repo.save_gateway_plan(plan.id, cycle, amount, ref)
        return ref

    async def transactions(self, account_id: uuid.UUID, *, limit: int, offset: int
                           ) -> Sequence[BillingTransaction]:
        return await self.repo.list_for(account_id, limit=limit, offset=offset)

    async def paid_transaction(self, account_id: uuid.UUID, tx_id: uuid.UUID
                               ) -> tuple[BillingTransaction, Account]:
        tx = await self.repo.get(tx_id)
        if tx is None or tx.account_id != account_id or tx.status != BillingStatus.paid:
            raise NotFound("Recibo não encontrado (só transações pagas têm recibo)",
                           code="receipt_not_found")
        account = await self.accounts.get(account_id)
        assert account is not None
        return tx, account

    async def subscription(self, account_id: uuid.UUID
                           ) -> tuple[Account, Subscription | None, Plan | None]:
        account = await self.accounts.get(account_id)
        if account is None:
            raise NotFound("Empresa não encontrada", code="account_not_found")
        sub = await self.repo.subscription(account_id)
        scheduled = None
        if sub is not None and sub.scheduled_plan_id is not None:
            scheduled = await PlanRepository(self.session).get(sub.scheduled_plan_id)
        return account, sub, scheduled


class PaymentProcessor:
    """Applies what the gateway says about a payment or a subscription."""

    def __init__(self, session: AsyncSession, gateway: PaymentGateway) -> None:
        self.session = session
        self.gateway = gateway
        self.repo = BillingRepository(session)
        self.accounts = AccountRepository(session)

    async def process(self, topic: str, resource_id: str) -> str:
        if topic == "payment":
            return await self.apply_payment(await self.gateway.get_payment(resource_id))
        if topic in ("subscription_preapproval", "preapproval"):
            return await self.apply_preapproval(await self.gateway.get_preapproval(resource_id))
        # subscription_authorized_payment and others: each charge also comes as "payment".
        return f"ignored: topic {topic}"

    def _refuse(self, tx: BillingTransaction, what: str, got: object) -> str:
        logger.warning("billing: payment for transaction %s refused: %s mismatch", tx.id, what)
        record_audit(self.session, AuditLog, actor=ACTOR, action="billing.notification_refused",
                     account_id=tx.account_id, target=f"billing_transaction:{tx.id}",
                     details={"mismatch": what, "got": str(got)})
        return f"refused: {what} mismatch"

    async def _transaction_for(self, p: PaymentInfo) -> BillingTransaction | str:
        tx = await self.repo.by_mercadopago_id(p.id, for_update=True)
        if tx is not None:
            return tx
        ref = p.external_reference
        try:
            base = await self.repo.get(uuid.UUID(str(ref)), for_update=True) if ref else None
        except ValueError:
            base = None
        if base is None:
            return "ignored: unknown external_reference"
        if base.method != BillingMethod.card or not base.preapproval_id \
                or p.preapproval_id != base.preapproval_id:
            return self._refuse(base, "external_reference", ref)
        if base.mercadopago_id is None:
            base.mercadopago_id = p.id  # the subscription's first charge
            return base
        # A later charge of the same subscription: a transaction of its own.
        sub = await self.repo.subscription(base.account_id)
        if sub is None or sub.preapproval_id != base.preapproval_id \
                or sub.preapproval_status == "cancelled":
            # A charge of a subscription we replaced or cancelled: recorded, never applied.
            logger.warning("billing: charge %s of replaced subscription %s", p.id,
                           base.preapproval_id)
        tx = BillingTransaction(
            account_id=base.account_id, plan_id=base.plan_id, amount=base.amount,
            method=BillingMethod.card, cycle=base.cycle, currency=base.currency,
            external_reference=base.external_reference, preapproval_id=base.preapproval_id,
            mercadopago_id=p.id, status=BillingStatus.pending)
        return await self.repo.add_transaction(tx)

    async def apply_payment(self, p: PaymentInfo) -> str:
        found = await self._transaction_for(p)
        if isinstance(found, str):
            return found
        tx = found
        skip = self._mismatch(tx, p) or _already_applied(tx, p)
        if skip is not None:
            return skip
        tx.gateway_status = p.status
        tx.gateway_updated_at = p.updated_at
        if p.status in PAID_STATUSES:
            await self._paid(tx)
            return "paid"
        if p.status in FAILED_STATUSES:
            return await self._failed(tx, p)
        if tx.status == BillingStatus.failed:
            # A newer non-final state (a retry in process) reopens nothing: wait for the final.
            return f"noted: {p.status}"
        return f"pending: {p.status}"

    def _mismatch(self, tx: BillingTransaction, p: PaymentInfo) -> str | None:
        """A payment that does not match the checkout it claims to pay is refused."""
        if p.external_reference != tx.external_reference:
            return self._refuse(tx, "external_reference", p.external_reference)
        if p.currency != tx.currency:
            return self._refuse(tx, "currency", p.currency)
        if p.amount != tx.amount:
            return self._refuse(tx, "amount", p.amount)
        return None

    async def _failed(self, tx: BillingTransaction, p: PaymentInfo) -> str:
        if tx.status == BillingStatus.failed:
            return "duplicate: already failed"
        tx.status = BillingStatus.failed
        tx.failure_reason = ("expired" if p.status_detail == "expired"
                             else (p.status_detail or p.status))[:100]
        account = await self.accounts.get(tx.account_id)
        assert account is not None
        await self.session.flush()
        events.billing_payment_failed(self.session, account, tx, tx.plan)
        record_audit(self.session, AuditLog, actor=ACTOR, action="billing.payment_failed",
                     account_id=tx.account_id, target=f"billing_transaction:{tx.id}",
                     after={"status": tx.status.value},
                     details={"reason": tx.failure_reason})
        return "failed"

    async def _paid(self, tx: BillingTransaction) -> None:
        account = await self.accounts.get(tx.account_id, for_update=True)
        assert account is not None
        sub = await self.repo.subscription_for_update(tx.account_id)
        now = utcnow()
        cycle = tx.cycle or BillingCycle.monthly
        start = max(now, sub.paid_until) if sub.paid_until else now
        end = add_months(start, cycle_months(cycle))
        tx.status = BillingStatus.paid
        tx.paid_at = now
        tx.failure_reason = None
        tx.period_start, tx.period_end = start, end
        plan = tx.plan
        changing = plan.id != account.plan_id
        if plan.id == account.plan_id:
            sub.scheduled_plan_id = sub.scheduled_cycle = sub.scheduled_at = None
        elif is_downgrade(account.plan, plan) and sub.paid_until and sub.paid_until > now:
            # Downgrade: the plan paid for until now runs to its end.
            sub.scheduled_plan_id, sub.scheduled_cycle = plan.id, cycle
            sub.scheduled_at = sub.paid_until
        else:
            old = account.plan.name
            await AccountService(self.session).apply_plan(account, plan, enable_new_modules=True)
            sub.scheduled_plan_id = sub.scheduled_cycle = sub.scheduled_at = None
            record_audit(self.session, AuditLog, actor=ACTOR, action="account.plan_changed",
                         account_id=account.id, target=f"account:{account.id}",
                         before={"plan": old}, after={"plan": plan.name},
                         details={"transaction_id": str(tx.id)})
        sub.paid_until = end
        sub.cycle = cycle
        sub.method = tx.method
        sub.amount = tx.amount
        if (tx.method == BillingMethod.pix and sub.preapproval_id and changing
                and sub.preapproval_status != "cancelled"):
            # Moving to another plan by Pix ends the card subscription of the old one.
            await self._cancel_old_preapproval(sub.preapproval_id)
            sub.preapproval_status = "cancelled"
        if tx.method == BillingMethod.card and tx.preapproval_id:
            if sub.preapproval_id and sub.preapproval_id != tx.preapproval_id:
                await self._cancel_old_preapproval(sub.preapproval_id)
            if sub.preapproval_id != tx.preapproval_id or not sub.preapproval_status:
                sub.preapproval_status = "authorized"  # it was charged
            sub.preapproval_id = tx.preapproval_id
        if account.status == AccountStatus.suspended and sub.suspended_for_nonpayment:
            account.status = AccountStatus.active
            sub.suspended_for_nonpayment = False
            await self.session.flush()
            events.account_reactivated(self.session, account)
            record_audit(self.session, AuditLog, actor=ACTOR, action="account.active",
                         account_id=account.id, target=f"account:{account.id}",
                         before={"status": "suspended"}, after={"status": "active"},
                         details={"reason": "pagamento recebido", "transaction_id": str(tx.id)})
        await self.session.flush()
        events.billing_payment_succeeded(self.session, account, tx, plan, end)
        record_audit(self.session, AuditLog, actor=ACTOR, action="billing.paid",
                     account_id=account.id, target=f"billing_transaction:{tx.id}",
                     after={"status": "paid"},
                     details={"transaction_id": str(tx.id), "paid_until": end.isoformat()})

    async def _cancel_old_preapproval(self, preapproval_id: str) -> None:
        try:
            await self.gateway.cancel_preapproval(preapproval_id)
        except (GatewayError, ServiceUnavailable):
            logger.warning("billing: could not cancel the replaced subscription %s",
                           preapproval_id)

    async def apply_preapproval(self, pre: PreapprovalInfo) -> str:
        tx = await self.repo.by_preapproval(pre.id)
        if tx is None:
            return "ignored: unknown preapproval"
        if pre.external_reference != tx.external_reference:
            return self._refuse(tx, "external_reference", pre.external_reference)
        if pre.currency != tx.currency:
            return self._refuse(tx, "currency", pre.currency)
        if pre.amount != tx.amount:
            return self._refuse(tx, "amount", pre.amount)
        sub = await self.repo.subscription(tx.account_id, for_update=True)
        if sub is not None and sub.preapproval_id == pre.id:
            sub.preapproval_status = pre.status
        if pre.status == "cancelled" and tx.status == BillingStatus.pending \
                and tx.mercadopago_id is None:
            tx.status = BillingStatus.failed
            tx.failure_reason = "cancelled"
        return f"preapproval {pre.status}"


class Dunning:
    """The scheduled job: suspend companies whose paid period ended more than the grace period
    ago; apply downgrades whose paid period ended."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
                 ) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings

    async def run(self, now: datetime | None = None) -> dict[str, int]:
        now = now or utcnow()
        cutoff = now - timedelta(days=self.settings.billing_grace_days)
        async with self.sessionmaker() as session:
            await act_as_system(session)  # the platform's work across companies
            overdue = await BillingRepository(session).overdue(cutoff)
            due = await BillingRepository(session).due_downgrades(now)
            grace = await BillingRepository(session).in_grace(now, cutoff)
        suspended = downgraded = warned = 0
        for account_id in grace:
            async with self.sessionmaker() as session, session.begin():
                await act_as_system(session)  # the platform's work across companies
                warned += await self._warn(session, account_id, now)
        for account_id in due:
            async with self.sessionmaker() as session, session.begin():
                await act_as_system(session)  # the platform's work across companies
                downgraded += await self._downgrade(session, account_id, now)
        for account_id in overdue:
            async with self.sessionmaker() as session, session.begin():
                await act_as_system(session)  # the platform's work across companies
                suspended += await self._suspend(session, account_id, cutoff)
        return {"suspended": suspended, "downgraded": downgraded, "warned": warned}

    async def _warn(self, session: AsyncSession, account_id: uuid.UUID, now: datetime) -> int:
        """Once per ended period: ``billing.suspension_upcoming`` with the suspension date."""
        repo = BillingRepository(session)
        accounts = AccountRepository(session)
        account = await accounts.get(account_id, for_update=True)
        sub = await repo.subscription(account_id, for_update=True)
        if (account is None or sub is None or sub.paid_until is None
                or sub.paid_until >= now or account.status != AccountStatus.active
                or await repo.warned(account_id, sub.paid_until)):
            return 0
        suspend_on = sub.paid_until + timedelta(days=self.settings.billing_grace_days)
        events.billing_suspension_upcoming(session, account, sub.paid_until, suspend_on)
        record_audit(session, AuditLog, actor="system:dunning", action="billing.suspension_warned",
                     account_id=account.id, target=f"account:{account.id}",
                     details={"paid_until": sub.paid_until.isoformat(),
                              "suspend_on": suspend_on.date().isoformat()})
        return 1

    async def _suspend(self, session: AsyncSession, account_id: uuid.UUID,
                       cutoff: datetime) -> int:
        accounts = AccountRepository(session)
        account = await accounts.get(account_id, for_update=True)
        sub = await BillingRepository(session).subscription(account_id, for_update=True)
        # Checked again under the locks: a payment that just landed keeps the company.
        if (account is None or sub is None or account.status != AccountStatus.active
                or sub.paid_until is None or sub.paid_until >= cutoff
                or account.plan.price <= 0):
            return 0
        account.status = AccountStatus.suspended
        sub.suspended_for_nonpayment = True
        await session.flush()
        events.account_suspended(session, account)
        events.billing_suspended_for_nonpayment(session, account, sub.paid_until)
        record_audit(session, AuditLog, actor="system:dunning", action="account.suspended",
                     account_id=account.id, target=f"account:{account.id}",
                     before={"status": "active"}, after={"status": "suspended"},
                     details={"reason": "inadimplência",
                              "paid_until": sub.paid_until.isoformat()})
        logger.info("dunning: account %s suspended (paid until %s)", account.id,
                    sub.paid_until.date())
        return 1

    async def _downgrade(self, session: AsyncSession, account_id: uuid.UUID,
                         now: datetime) -> int:
        accounts = AccountRepository(session)
        account = await accounts.get(account_id, for_update=True)
        sub = await BillingRepository(session).subscription(account_id, for_update=True)
        if (account is None or sub is None or sub.scheduled_plan_id is None
                or sub.scheduled_at is None or sub.scheduled_at > now):
            return 0
        plan = await PlanRepository(session).get(sub.scheduled_plan_id)
        sub.scheduled_plan_id = sub.scheduled_cycle = sub.scheduled_at = None
        if plan is None or plan.id == account.plan_id:
            return 0
        old = account.plan.name
        await AccountService(session).apply_plan(account, plan)
        record_audit(session, AuditLog, actor="system:billing", action="account.plan_changed",
                     account_id=account.id, target=f"account:{account.id}",
                     before={"plan": old}, after={"plan": plan.name},
                     details={"reason": "downgrade no fim do período"})
        return 1
