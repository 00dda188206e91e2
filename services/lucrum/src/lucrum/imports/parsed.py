"""What a statement parser hands to the import service."""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from avelar_kit.br import MONEY_MAX_ABS
from lucrum import clock
from lucrum.text import clean_text

__all__ = ["Entry", "ParseResult", "Rejection", "StatementFormatError", "check_entry",
           "clean_text", "derived_id", "fold"]


class StatementFormatError(ValueError):
    """The file as a whole cannot be read (message in Portuguese, shown to the user)."""


@dataclass(frozen=True, slots=True)
class Entry:
    external_id: str
    transaction_date: date
    amount: Decimal  # signed: negative is money out
    description: str


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: str
    line: int | None = None
    fitid: str | None = None


@dataclass(slots=True)
class ParseResult:
    format: str
    entries: list[Entry] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    duplicates_in_file: int = 0
    _seen: dict[str, Entry] = field(default_factory=dict)

    def add(self, entry: Entry, *, line: int | None = None, fitid: str | None = None) -> None:
        """Keep the first of repeated bank ids. The same id with the same date and amount is a
        repeated line (skipped as a duplicate); with different data it is refused, since the
        bank's id is the dedupe key and guessing which one is right would lose money."""
        seen = self._seen.get(entry.external_id)
        if seen is None:
            self._seen[entry.external_id] = entry
            self.entries.append(entry)
        elif (seen.transaction_date, seen.amount) == (entry.transaction_date, entry.amount):
            self.duplicates_in_file += 1
        else:
            self.rejected.append(Rejection(
                "identificador repetido no arquivo com data ou valor diferentes", line=line,
                fitid=fitid,
            ))


def check_entry(when: date, amount: Decimal) -> None:
    """A line the ledger can hold, refused with why otherwise: one out-of-range line must be
    reported, not fail the whole file with a database error."""
    clock.plausible(when)
    if abs(amount) >= MONEY_MAX_ABS:
        raise ValueError("valor acima do limite de R$ 9.999.999.999.999,99")


def fold(value: str) -> str:
    """Lower case without accents, for matching header names."""
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower().strip()


def derived_id(prefix: str, when: date, amount: Decimal, description: str, occurrence: int) -> str:
    """A stable id for a line the bank gave none: the same line in a re-import gets the same id,
    and the n-th identical line of a day (two equal coffees) stays distinct through
    ``occurrence``."""
    key = f"{when.isoformat()}|{amount}|{fold(description)}|{occurrence}"
    return f"{prefix}:h:{hashlib.sha256(key.encode()).hexdigest()[:40]}"
