"""One Brasília clock for every module: "today", "this month" and the day of an instant as a
Brazilian company sees them.

Brazil abolished daylight saving time in 2019, so Brasília time is a fixed UTC-3 offset; a fixed
offset needs no tz database on the host (zoneinfo would, and slim images lack it). Month
boundaries are computed here, in Python, and passed to SQL as parameters: no module asks the
database for its own idea of the time zone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

BRT = timezone(timedelta(hours=-3), "BRT")


def now() -> datetime:
    return datetime.now(BRT)


def today() -> date:
    return now().date()


def local_date(moment: datetime) -> date:
    """The calendar day of an instant in Brasília (naive datetimes are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(BRT).date()


def month_start() -> datetime:
    """Start of the current month in Brasília, as an aware datetime."""
    return now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
