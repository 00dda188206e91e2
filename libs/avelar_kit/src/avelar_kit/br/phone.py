"""WhatsApp numbers: Brazilian mobiles only, stored in E.164 (``+5511987654321``).

Parsing and validation are delegated to ``phonenumbers`` (Google's libphonenumber metadata), which
knows the valid DDDs and which ranges are mobile; landlines are refused because WhatsApp
messages to them cannot be delivered.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

__all__ = [
    "format_whatsapp_display",
    "normalize_whatsapp",
    "whatsapp_wa_me_digits",
]

# phonenumbers is lenient on purpose: it converts letters to digits ("1198765ABCD" is a valid
# number to it) and extracts a number from surrounding text. A form field is not free text, so
# only digits, the usual separators and a leading "+" are allowed before it gets there.
_ALLOWED_RE = re.compile(r"\+?[0-9 ().\-]+")
_NON_DIGITS_RE = re.compile(r"[^0-9]")
_MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})


def normalize_whatsapp(value: str) -> str:
    """Return the E.164 form of a Brazilian mobile number; ``ValueError`` otherwise.

    Accepts ``"+55 11 98765-4321"``, ``"(11) 98765-4321"``, ``"11987654321"`` and
    ``"5511987654321"``.
    """
    if not isinstance(value, str):
        raise ValueError("WhatsApp inválido: deve ser um texto")
    text = value.strip()
    if not _ALLOWED_RE.fullmatch(text):
        raise ValueError("WhatsApp inválido: use apenas números, espaços, ( ) - e + no início")
    digits = _NON_DIGITS_RE.sub("", text)
    # A Brazilian national number has at most 11 digits (DDD + 9), so 13 digits starting with 55
    # can only be the country code typed without "+". Shorter inputs starting with 55 are left
    # alone: 55 is also a valid DDD (Rio Grande do Sul).
    if not text.startswith("+") and len(digits) == 13 and digits.startswith("55"):
        text = "+" + digits
    try:
        number = phonenumbers.parse(text, "BR")
    except NumberParseException:
        raise ValueError("WhatsApp inválido: número não reconhecido") from None
    if phonenumbers.region_code_for_number(number) != "BR":
        raise ValueError("WhatsApp inválido: apenas números do Brasil (+55)")
    if number.extension or not phonenumbers.is_valid_number(number):
        raise ValueError("WhatsApp inválido: número inexistente ou incompleto")
    if phonenumbers.number_type(number) not in _MOBILE_TYPES:
        raise ValueError("WhatsApp inválido: deve ser um celular, não um telefone fixo")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def format_whatsapp_display(e164: str) -> str:
    """``"+5511987654321"`` -> ``"+55 (11) 98765-4321"`` (any accepted input; validated first)."""
    national = normalize_whatsapp(e164)[3:]
    # A valid Brazilian mobile is always DDD (2 digits) + 9 digits.
    return f"+55 ({national[:2]}) {national[2:-4]}-{national[-4:]}"


def whatsapp_wa_me_digits(e164: str) -> str:
    """``"+5511987654321"`` -> ``"5511987654321"``, the form ``https://wa.me/<digits>`` expects."""
    return normalize_whatsapp(e164)[1:]
