"""Dates as a Brazilian company sees them: the kit's one Brasília clock (``avelar_kit.br.clock``)
and the range of dates Lucrum accepts on an entry."""

from __future__ import annotations

from datetime import date

from avelar_kit.br.clock import BRT, local_date, month_start, today

__all__ = ["BRT", "EARLIEST", "LATEST", "local_date", "month_start", "plausible", "today"]


# Entries are dated within these bounds. Year 0202 or 9999 is a typo (or a broken statement
# line), and an entry there would sit outside every report the company will ever run.
EARLIEST = date(1900, 1, 1)
LATEST = date(2099, 12, 31)


def plausible(day: date) -> date:
    if not EARLIEST <= day <= LATEST:
        raise ValueError("data fora do intervalo aceito (01/01/1900 a 31/12/2099)")
    return day
