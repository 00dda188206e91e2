"""From an event to the WhatsApp messages it causes.

Who sends: AvAdmin owns the messaging port (ADR 0007). It consumes StockTech's stream and its
own (billing), in the kit's ``StreamConsumer`` with a handled-events table, so an event
delivered twice is handled once; each message also carries ``<event id>:<number>`` as its
unique ``dedupe_key``, so even a handler run twice enqueues it once. A company whose plan lacks
the ``whatsapp`` feature gets nothing. Messages go to the company's number when it is verified,
otherwise to its admins' verified numbers; unverified numbers are never written to.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from avadmin.accounts.models import Account
from avadmin.messaging import templates
from avadmin.messaging.port import TemplateMessage
from avadmin.messaging.repository import OutgoingMessageRepository
from avadmin.notifications.repository import RecipientRepository
from avelar_kit.br.phone import whatsapp_wa_me_digits
from avelar_kit.events.envelope import EventEnvelope

logger = logging.getLogger("avadmin.notifications")

FEATURE = "whatsapp"

# StockTech (docs/stocktech-events.md).
PURCHASE_CREATED = "stocktech.transaction.created"
PURCHASE_COMPLETED = "stocktech.transaction.completed"
PURCHASE_CANCELLED = "stocktech.transaction.cancelled"
# Billing (AvAdmin's own events). Names as the billing work publishes them; the data needs
# ``account_id`` and, when known, ``plan_name`` / ``amount`` / ``suspend_on`` (ISO date).
PAYMENT_FAILED_TYPES = frozenset({"billing.payment_failed", "billing.payment.failed"})
SUSPENSION_UPCOMING_TYPES = frozenset({"billing.suspension_upcoming",
                                       "billing.suspension.upcoming",
                                       "account.suspension_upcoming"})


class InvalidEvent(ValueError):
    """The event cannot be read; retrying will not help (the consumer dead-letters it)."""


def _uuid(data: dict[str, Any], key: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(data[key]))
    except (KeyError, ValueError) as exc:
        raise InvalidEvent(f"{key} missing or not a uuid") from exc


def _money(data: dict[str, Any], key: str) -> Decimal:
    try:
        return Decimal(str(data.get(key, "0")))
    except InvalidOperation as exc:
        raise InvalidEvent(f"{key} is not a decimal") from exc


class Notifier:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.recipients = RecipientRepository(session)
        self.outbox = OutgoingMessageRepository(session)

    async def _company(self, account_id: uuid.UUID) -> Account | None:
        return self._messaged(await self.recipients.account(account_id))

    @staticmethod
    def _messaged(account: Account | None) -> Account | None:
        """``account`` when its plan has the WhatsApp feature, else None."""
        if account is None:
            return None
        if FEATURE not in (account.plan.features or []):
            logger.info("account %s: plan %s has no whatsapp feature, nothing sent",
                        account.id, account.plan.name)
            return None
        return account

    async def _numbers(self, account: Account, *, admins_first: bool) -> list[str]:
        admins = list(await self.recipients.verified_admin_numbers(account.id))
        company = [account.whatsapp] if account.whatsapp_verified else []
        ordered = (admins or company) if admins_first else (company or admins)
        return list(dict.fromkeys(ordered))

    async def _send(self, event: EventEnvelope, account: Account, message: TemplateMessage, *,
                    admins_first: bool = False, conversation: str | None = None) -> int:
        sent = 0
        for number in await self._numbers(account, admins_first=admins_first):
            if await self.outbox.enqueue(number, message, dedupe_key=f"{event.id}:{number}",
                                         account_id=account.id, conversation_id=conversation):
                sent += 1
        return sent

    async def _sale_companies(self, data: dict[str, Any], *, told: str, other: str
                              ) -> tuple[Account | None, Account | None]:
        """The company told of a sale (None when its plan has no WhatsApp) and the other
        party, read in one statement."""
        told_id, other_id = _uuid(data, told), _uuid(data, other)
        found = await self.recipients.accounts(told_id, other_id)
        return self._messaged(found.get(told_id)), found.get(other_id)

    async def purchase_created(self, event: EventEnvelope) -> int:
        data = event.data
        seller, buyer = await self._sale_companies(data, told="seller_account_id",
                                                   other="buyer_account_id")
        if seller is None:
            return 0
        buyer_name = buyer.company_name if buyer is not None else "empresa compradora"
        link = ""
        if buyer is not None:
            try:
                link = f"https://wa.me/{whatsapp_wa_me_digits(buyer.whatsapp)}"
            except ValueError:
                link = ""
        message = templates.new_purchase(
            product=str(data.get("product_name", "")), code=str(data.get("product_code", "")),
            quantity=int(data.get("quantity", 0)), buyer=buyer_name,
            total=_money(data, "total_amount"), link=link or "-")
        return await self._send(event, seller, message,
                                conversation=data.get("whatsapp_chat_id"))

    async def _buyer_told(self, event: EventEnvelope, build: Callable[..., TemplateMessage]
                          ) -> int:
        data = event.data
        buyer, seller = await self._sale_companies(data, told="buyer_account_id",
                                                   other="seller_account_id")
        if buyer is None:
            return 0
        message = build(product=str(data.get("product_name", "")),
                        code=str(data.get("product_code", "")),
                        quantity=int(data.get("quantity", 0)),
                        seller=seller.company_name if seller else "o vendedor",
                        total=_money(data, "total_amount"))
        return await self._send(event, buyer, message, conversation=data.get("whatsapp_chat_id"))

    async def purchase_completed(self, event: EventEnvelope) -> int:
        return await self._buyer_told(event, templates.purchase_completed)

    async def purchase_cancelled(self, event: EventEnvelope) -> int:
        return await self._buyer_told(event, templates.purchase_cancelled)

    async def payment_failed(self, event: EventEnvelope) -> int:
        account = await self._company(_uuid(event.data, "account_id"))
        if account is None:
            return 0
        message = templates.payment_failed(
            plan=str(event.data.get("plan_name") or account.plan.name),
            company=account.company_name,
            amount=_money(event.data, "amount") if event.data.get("amount") is not None
            else account.plan.price)
        return await self._send(event, account, message, admins_first=True)

    async def suspension_upcoming(self, event: EventEnvelope) -> int:
        account = await self._company(_uuid(event.data, "account_id"))
        if account is None:
            return 0
        raw = event.data.get("suspend_on") or event.data.get("suspends_at")
        try:
            on = date.fromisoformat(str(raw)[:10])
        except ValueError as exc:
            raise InvalidEvent("suspend_on missing or not a date") from exc
        message = templates.suspension_upcoming(company=account.company_name, on=on)
        return await self._send(event, account, message, admins_first=True)


Route = Callable[[Notifier, EventEnvelope], Awaitable[int]]

ROUTES: dict[str, Route] = {
    PURCHASE_CREATED: Notifier.purchase_created,
    PURCHASE_COMPLETED: Notifier.purchase_completed,
    PURCHASE_CANCELLED: Notifier.purchase_cancelled,
    **{t: Notifier.payment_failed for t in PAYMENT_FAILED_TYPES},
    **{t: Notifier.suspension_upcoming for t in SUSPENSION_UPCOMING_TYPES},
}


async def handle_event(event: EventEnvelope, session: AsyncSession) -> None:
    """The consumer's handler (runs in the transaction that records the event as handled)."""
    route = ROUTES.get(event.type)
    if route is None:
        return
    count = await route(Notifier(session), event)
    logger.info("event %s (%s): %d whatsapp message(s) queued", event.id, event.type, count)
