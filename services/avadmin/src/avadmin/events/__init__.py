"""Events AvAdmin publishes (docs/avadmin-contract.md), written to the outbox in the same
transaction as the change they describe."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from avadmin.accounts.models import Account
from avadmin.billing.models import BillingTransaction
from avadmin.events.models import OutboxEvent
from avadmin.plans.models import Plan
from avadmin.users.models import User
from avelar_kit.events.outbox import record_event


def plan_data(plan: Plan) -> dict[str, object]:
    return {"id": str(plan.id), "name": plan.name, "max_products": plan.max_products,
            "max_users": plan.max_users, "max_transactions": plan.max_transactions,
            "features": list(plan.features)}


def user_updated(session: AsyncSession, user: User) -> None:
    record_event(session, OutboxEvent, "user.updated", {
        "user_id": str(user.id), "account_id": str(user.account_id),
        "full_name": user.full_name, "whatsapp": user.whatsapp, "role": user.role.value,
        "is_active": user.is_active,
        "sessions_valid_after": (user.sessions_valid_after.isoformat()
                                 if user.sessions_valid_after else None),
    })


def user_deactivated(session: AsyncSession, user: User) -> None:
    record_event(session, OutboxEvent, "user.deactivated",
                 {"user_id": str(user.id), "account_id": str(user.account_id)})


def account_updated(session: AsyncSession, account: Account) -> None:
    record_event(session, OutboxEvent, "account.updated", {
        "account_id": str(account.id), "company_name": account.company_name,
        "whatsapp": account.whatsapp, "enabled_modules": list(account.enabled_modules),
        "status": account.status.value,
    })


def account_suspended(session: AsyncSession, account: Account) -> None:
    record_event(session, OutboxEvent, "account.suspended", {"account_id": str(account.id)})


def account_reactivated(session: AsyncSession, account: Account) -> None:
    record_event(session, OutboxEvent, "account.reactivated", {"account_id": str(account.id)})


def account_plan_changed(session: AsyncSession, account: Account, plan: Plan) -> None:
    record_event(session, OutboxEvent, "account.plan_changed",
                 {"account_id": str(account.id), "plan": plan_data(plan)})


# -- billing (issue 11) -------------------------------------------------------------------------

def _billing_payload(account: Account, tx: BillingTransaction, plan: Plan) -> dict[str, object]:
    return {"account_id": str(account.id), "company_name": account.company_name,
            "whatsapp": account.whatsapp, "transaction_id": str(tx.id),
            "plan": {"id": str(plan.id), "name": plan.name}, "plan_name": plan.name,
            "amount": f"{tx.amount:.2f}",
            "currency": tx.currency, "method": tx.method.value if tx.method else None}


def billing_payment_succeeded(session: AsyncSession, account: Account, tx: BillingTransaction,
                              plan: Plan, paid_until: datetime) -> None:
    record_event(session, OutboxEvent, "billing.payment_succeeded", {
        **_billing_payload(account, tx, plan), "paid_until": paid_until.isoformat()})


def billing_payment_failed(session: AsyncSession, account: Account, tx: BillingTransaction,
                           plan: Plan) -> None:
    """For the WhatsApp notifier: tell the company's admins a charge failed or expired."""
    record_event(session, OutboxEvent, "billing.payment_failed", {
        **_billing_payload(account, tx, plan), "reason": tx.failure_reason})


def billing_suspended_for_nonpayment(session: AsyncSession, account: Account,
                                     paid_until: datetime | None) -> None:
    record_event(session, OutboxEvent, "billing.suspended_for_nonpayment", {
        "account_id": str(account.id), "company_name": account.company_name,
        "whatsapp": account.whatsapp,
        "paid_until": paid_until.isoformat() if paid_until else None})


def billing_suspension_upcoming(session: AsyncSession, account: Account, paid_until: datetime,
                                suspend_on: datetime) -> None:
    """The paid period ended: the company will be suspended on ``suspend_on`` (a date) unless
    it pays. For the WhatsApp notifier."""
    record_event(session, OutboxEvent, "billing.suspension_upcoming", {
        "account_id": str(account.id), "company_name": account.company_name,
        "whatsapp": account.whatsapp, "paid_until": paid_until.isoformat(),
        "suspend_on": suspend_on.date().isoformat()})


# -- privacy (docs/privacy.md) --------------------------------------------------------------------

def user_erased(session: AsyncSession, user: User) -> None:
    """The person's data was erased: no personal field, only the pseudonymous reference (the
    user id) the modules' records keep, and when the person's sessions ended."""
    record_event(session, OutboxEvent, "user.erased", {
        "user_id": str(user.id), "account_id": str(user.account_id),
        "erased_at": user.erased_at.isoformat() if user.erased_at else None,
        "sessions_valid_after": (user.sessions_valid_after.isoformat()
                                 if user.sessions_valid_after else None),
    })
