"""The wa.me link that opens a WhatsApp chat with the seller, message already written."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from urllib.parse import quote

from avelar_kit.br.money import format_brl
from avelar_kit.br.phone import whatsapp_wa_me_digits

_DIGITS = re.compile(r"\D")


def wa_digits(whatsapp: str | None) -> str | None:
    if not whatsapp:
        return None
    try:
        return whatsapp_wa_me_digits(whatsapp)
    except ValueError:
        # AvAdmin validates numbers on input; an older or foreign one is still worth a try.
        digits = _DIGITS.sub("", whatsapp)
        return digits if 10 <= len(digits) <= 15 else None


def chat_id(digits: str) -> str:
    """The one-to-one chat id WhatsApp's APIs use for a number (``<digits>@c.us``)."""
    return f"{digits}@c.us"


def purchase_message(
    *, transaction_id: uuid.UUID, code: str, name: str, quantity: int, total: Decimal
) -> str:
    unidades = "unidade" if quantity == 1 else "unidades"
    return (
        f"Olá! Fiz um pedido pelo StockTech: {quantity} {unidades} do produto {code} "
        f"({name}), total de {format_brl(total)}. "
        f"Pedido {str(transaction_id)[:8].upper()}. Podemos combinar a entrega e o pagamento?"
    )


def wa_me_link(digits: str, message: str) -> str:
    return f"https://wa.me/{digits}?text={quote(message, safe='')}"
