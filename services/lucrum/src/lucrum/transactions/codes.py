"""Financial transaction codes: ``LC`` + 8 digits + a check letter (``LC12345678A``).

Check letter: the 8 digits weighted 9, 8, 7, 6, 5, 4, 3, 2 from left to right, summed, the sum
modulo 26 mapped to ``A``..``Z`` (0 -> A). Because every weight is between 2 and 9 and 26 = 2 x 13,
no single mistyped digit (a change of 1..9 times a weight of 2..9 is never a multiple of 26) and
no swap of two adjacent digits (weights differ by 1) gives the same letter, so a code read over
the phone or typed from a receipt is caught before it is looked up.

Codes are random, not sequential: they reveal nothing about a company's volume, and concurrent
creates do not contend on a counter. The database's unique constraint is the arbiter; a
collision (1 in 10^8 per pair) is retried with a new code (see ``transactions.service``).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

PREFIX = "LC"
WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2)
CODE_RE = re.compile(r"^LC[0-9]{8}[A-Z]$")


def check_letter(digits: str) -> str:
    if len(digits) != 8 or not digits.isdigit() or not digits.isascii():
        raise ValueError("o código precisa de exatamente 8 dígitos")
    total = sum(int(d) * w for d, w in zip(digits, WEIGHTS, strict=True))
    return chr(ord("A") + total % 26)


def make_code(number: int) -> str:
    if not 0 <= number < 10**8:
        raise ValueError("número fora do intervalo de 8 dígitos")
    digits = f"{number:08d}"
    return f"{PREFIX}{digits}{check_letter(digits)}"


def random_code() -> str:
    return make_code(secrets.randbelow(10**8))


def normalize_code(value: str) -> str:
    """Accepts ``lc12345678a``, ``LC 1234 5678-A``; returns ``LC12345678A`` or raises."""
    cleaned = re.sub(r"[\s.-]", "", value).upper()
    if not CODE_RE.fullmatch(cleaned):
        raise ValueError("código inválido; o formato é LC + 8 dígitos + letra, ex.: LC12345678A")
    if check_letter(cleaned[2:10]) != cleaned[10]:
        raise ValueError("código inválido: a letra de verificação não confere")
    return cleaned


def is_valid_code(value: str) -> bool:
    try:
        normalize_code(value)
    except ValueError:
        return False
    return True


# Indirection so tests can squeeze the code space and force collisions.
CodeGenerator = Callable[[], str]
