"""Brazilian Real amounts: always ``Decimal`` with 2 places, never ``float``.

Rounding is ROUND_HALF_UP (0,005 -> 0,01), the commercial convention used in Brazilian invoices
and bank statements, not the banker's rounding (HALF_EVEN) that ``Decimal`` defaults to.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

__all__ = [
    "CENT",
    "format_brl",
    "parse_brl_amount",
    "quantize_brl",
]

CENT = Decimal("0.01")

# Amounts as they appear in Brazilian bank statements and spreadsheets. The decimal separator is
# the comma; dots group thousands and must do so correctly ("1.23.4" is refused, not guessed).
# A dot followed by 1 or 2 digits is read as a decimal point, for exports that use "1234.56".
# "1.234" is therefore 1234: with 3 digits after it the dot cannot be a decimal point, since a
# BRL amount never has 3 decimal places.
_AMOUNT_RE = re.compile(
    r"""
    (?P<sign>[-+]?)\s*
    (?:R\$\s*)?
    (?P<sign_after>[-+]?)
    (?:
        (?P<grouped>[0-9]{1,3}(?:\.[0-9]{3})+)(?:,(?P<grouped_cents>[0-9]{1,2}))?
      | (?P<plain>[0-9]+)(?:,(?P<plain_cents>[0-9]{1,2}))?
      | (?P<dot_int>[0-9]+)\.(?P<dot_cents>[0-9]{1,2})
    )
    """,
    re.VERBOSE,
)


def quantize_brl(value: Decimal | str | int) -> Decimal:
    """Round to 2 places (HALF_UP). Refuses ``float``: it cannot represent cents exactly.

    Strings must be plain decimal notation (``"10.5"``); Brazilian notation (``"10,50"``) is the
    job of ``parse_brl_amount``.
    """
    # bool is a subclass of int, and True meaning R$ 1,00 would only ever be a bug.
    if isinstance(value, float | bool) or not isinstance(value, Decimal | str | int):
        raise TypeError(f"valor monetário deve ser Decimal, str ou int, não {type(value).__name__}")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"valor monetário inválido: {str(value)[:40]!r}") from None
    if not amount.is_finite():
        raise ValueError("valor monetário deve ser um número finito")
    try:
        result = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        # quantize fails when the result needs more digits than the context precision (28).
        raise ValueError("valor monetário grande demais") from None
    # "-0.00" would be displayed as "-R$ 0,00" and serialized as "-0.00".
    return result if result else abs(result)


def format_brl(value: Decimal) -> str:
    """``Decimal("1234.56")`` -> ``"R$ 1.234,56"``; negatives as ``"-R$ 1.234,56"``."""
    amount = quantize_brl(value)
    # Format with the English separators and swap them, so the output does not depend on the
    # process locale (locale.setlocale is global and not thread-safe).
    text = format(abs(amount), ",.2f").translate(str.maketrans(",.", ".,"))
    return f"-R$ {text}" if amount < 0 else f"R$ {text}"


def parse_brl_amount(text: str) -> Decimal:
    """Read an amount from a Brazilian bank statement: ``"1.234,56"``, ``"1234,56"``,
    ``"-1.234,56"``, ``"1234.56"``, ``"R$ 10,00"``, ``"-R$ 10,00"``.

    Accounting parentheses (``"(10,00)"``) and debit/credit suffixes are not supported and raise
    ``ValueError``, like any other text that is not exactly one amount: reading them as positive
    would silently flip the sign.
    """
    if not isinstance(text, str):
        raise ValueError("valor inválido: deve ser um texto")
    # Non-breaking spaces appear when the amount was formatted by a browser or spreadsheet.
    cleaned = text.replace("\u00a0", " ").strip()
    match = _AMOUNT_RE.fullmatch(cleaned)
    if match is None or (match["sign"] and match["sign_after"]):
        # Truncated: the message may reach a log or an API response.
        raise ValueError(f"valor inválido: {text[:40]!r}")
    if match["grouped"] is not None:
        integer, cents = match["grouped"].replace(".", ""), match["grouped_cents"]
    elif match["plain"] is not None:
        integer, cents = match["plain"], match["plain_cents"]
    else:
        integer, cents = match["dot_int"], match["dot_cents"]
    negative = "-" in (match["sign"], match["sign_after"])
    amount = Decimal(f"{'-' if negative else ''}{integer}.{cents or '0'}")
    return quantize_brl(amount)
