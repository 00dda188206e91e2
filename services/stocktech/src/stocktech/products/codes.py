"""Product codes: ``ST`` + 6 digits + a check letter, e.g. ``ST123456A``.

The check letter is ``CHECK_ALPHABET[int(digits) % 23]``, the scheme of the Spanish DNI with an
alphabet of 23 letters that leaves out I, O and U (read as 1, 0 and V). Because 23 is prime and
larger than 9, every single mistyped digit and every swap of two adjacent digits changes the
remainder, so a typo never lands on another valid code. The same rule is a CHECK constraint in the
database (migration 0001).
"""

from __future__ import annotations

import re
import secrets

PREFIX = "ST"
CHECK_ALPHABET = "ABCDEFGHJKLMNPQRSTVWXYZ"
CODE_RE = re.compile(r"^ST([0-9]{6})([A-Z])$")
_SPACE = 10**6

assert len(CHECK_ALPHABET) == 23


def check_letter(digits: str) -> str:
    if len(digits) != 6 or not digits.isascii() or not digits.isdigit():
        raise ValueError("o código deve ter 6 dígitos")
    return CHECK_ALPHABET[int(digits) % 23]


def make_code(number: int) -> str:
    if not 0 <= number < _SPACE:
        raise ValueError("número fora do intervalo de códigos")
    digits = f"{number:06d}"
    return f"{PREFIX}{digits}{check_letter(digits)}"


def random_number() -> int:
    return secrets.randbelow(_SPACE)


def generate_code() -> str:
    return make_code(random_number())


def normalize_code(value: str) -> str:
    """Accept ``st123456a`` or `` ST-123456-A `` as typed; return ``ST123456A`` or raise
    ``ValueError`` with a Portuguese message."""
    text = value.strip().upper().replace("-", "").replace(" ", "")
    match = CODE_RE.fullmatch(text)
    if match is None:
        raise ValueError("código de produto inválido: use ST + 6 dígitos + letra (ex.: ST123456A)")
    digits, letter = match.groups()
    if check_letter(digits) != letter:
        raise ValueError("código de produto inválido: a letra verificadora não confere")
    return text


def is_valid_code(value: str) -> bool:
    try:
        normalize_code(value)
    except ValueError:
        return False
    return True
