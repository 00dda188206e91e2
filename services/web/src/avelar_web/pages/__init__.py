"""The portal's pages, one router per area: public, account, StockTech, Lucrum, operators."""

from __future__ import annotations

from typing import Any

from avelar_web.api import ApiError


def field_errors(exc: ApiError, aliases: dict[str, str] | None = None) -> dict[str, str]:
    """The API's field paths as the form's input names (``aliases`` renames a few)."""
    out: dict[str, str] = {}
    for path, message in exc.fields.items():
        name = (aliases or {}).get(path, path)
        out.setdefault(name, message)
    return out


def local_error(errors: dict[str, str], name: str, fn: Any, value: str) -> Any:
    """Parse one input with a formatting helper; its ValueError becomes the field's message."""
    try:
        return fn(value)
    except ValueError as exc:
        errors[name] = str(exc)
        return None
