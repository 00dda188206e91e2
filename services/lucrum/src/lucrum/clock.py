"""Dates as a Brazilian company sees them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

# Brazil abolished daylight saving time in 2019, so Brasília time is a fixed UTC-3 offset; a
# fixed offset needs no tz database on the host (zoneinfo would, and slim images lack it).
BRT = timezone(timedelta(hours=-3), "BRT")


def today() -> date:
    return datetime.now(BRT).date()


def local_date(moment: datetime) -> date:
    """The calendar day of an instant in Brasília (naive datetimes are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(BRT).date()


def month_start_utc() -> datetime:
    """Start of the current month in Brasília, as an aware datetime."""
    now = datetime.now(BRT)
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


# Entries are dated within these bounds. Year 0202 or 9999 is a typo (or a broken statement
# line), and an entry there would sit outside every report the company will ever run.
EARLIEST = date(1900, 1, 1)
LATEST = date(2099, 12, 31)


def plausible(day: date) -> date:
    if not EARLIEST <= day <= LATEST:
        raise ValueError("data fora do intervalo aceito (01/01/1900 a 31/12/2099)")
    return day
