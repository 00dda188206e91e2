"""Free text typed by people or read from bank statements."""

from __future__ import annotations

import re

from pydantic import AfterValidator

# C0/C1 control characters. PostgreSQL refuses NUL in text outright (a generic 22021 error for
# the whole request or import), and the others only garble a screen or a spreadsheet.
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def clean_text(value: str | None) -> str:
    """Control characters become spaces; runs of whitespace collapse to one space."""
    return " ".join(CONTROL_CHARS.sub(" ", value or "").split())


def _refuse_control_chars(value: str) -> str:
    if CONTROL_CHARS.search(value):
        raise ValueError("o texto contém caracteres de controle")
    return value


# For request fields: a clear 422 naming the field instead of the database's generic one.
NoControlChars = AfterValidator(_refuse_control_chars)
