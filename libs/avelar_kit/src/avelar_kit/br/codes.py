"""Human-facing codes with a check letter: ``ST`` + 6 digits (StockTech products) and ``LC`` + 8
digits (Lucrum entries), one scheme for both.

The check letter is ``ALPHABET[int(digits) % 23]``, the scheme of the Spanish DNI with an
alphabet of 23 letters that leaves out I, O and U (read as 1, 0 and V). Because 23 is prime and
larger than 9, every single mistyped digit (a change of d x 10^k, 0 < d < 10) and every swap of
two adjacent digits (a change of (a - b) x 9 x 10^k) changes the remainder, whatever the number
of digits: a code read over the phone or typed from a receipt is caught before any lookup. The
same rule is a CHECK constraint in each module's database (``CodeScheme.sql_check``).

Codes are random, not sequential: they reveal nothing about a company's volume, and concurrent
creates do not contend on a counter; the database's unique constraint is the arbiter.
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "ABCDEFGHJKLMNPQRSTVWXYZ"
assert len(ALPHABET) == 23


class CodeScheme:
    def __init__(self, prefix: str, digits: int, *, noun: str = "") -> None:
        self.prefix = prefix
        self.digits = digits
        self.space = 10**digits
        self.noun = noun
        self._re = re.compile(rf"^{prefix}([0-9]{{{digits}}})([A-Z])$")
        self.example = self.make(int("123456789"[:digits]))

    def check_letter(self, digits: str) -> str:
        if len(digits) != self.digits or not digits.isascii() or not digits.isdigit():
            raise ValueError(f"o código deve ter {self.digits} dígitos")
        return ALPHABET[int(digits) % 23]

    def make(self, number: int) -> str:
        if not 0 <= number < self.space:
            raise ValueError("número fora do intervalo de códigos")
        digits = f"{number:0{self.digits}d}"
        return f"{self.prefix}{digits}{self.check_letter(digits)}"

    def random(self) -> str:
        return self.make(secrets.randbelow(self.space))

    def normalize(self, value: str) -> str:
        """Accept the code as typed (``st 123456-a``, ``LC 1234.5678-Q``): spaces, dots, hyphens
        and case are ignored. Return the canonical code or raise ``ValueError`` in Portuguese."""
        text = re.sub(r"[\s.-]", "", value).upper()
        what = f"código {self.noun} inválido" if self.noun else "código inválido"
        match = self._re.fullmatch(text)
        if match is None:
            raise ValueError(f"{what}: use {self.prefix} + {self.digits} dígitos + letra "
                             f"(ex.: {self.example})")
        digits, letter = match.groups()
        if self.check_letter(digits) != letter:
            raise ValueError(f"{what}: a letra verificadora não confere")
        return text

    def is_valid(self, value: str) -> bool:
        try:
            self.normalize(value)
        except ValueError:
            return False
        return True

    def sql_check(self, column: str = "code") -> str:
        """The rule as a PostgreSQL CHECK expression (for the module's migration)."""
        n, p = self.digits, len(self.prefix)
        return (f"CASE WHEN {column} ~ '^{self.prefix}[0-9]{{{n}}}[A-Z]$' THEN "
                f"substr('{ALPHABET}', (substr({column}, {p + 1}, {n})::bigint % 23)::int + 1, 1)"
                f" = substr({column}, {p + n + 1}, 1) ELSE false END")


PRODUCT_CODES = CodeScheme("ST", 6, noun="de produto")
ENTRY_CODES = CodeScheme("LC", 8)
