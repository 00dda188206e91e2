"""Minimum personal data at the internal API (issue 15, point 4): each service client reads only
the personal fields it was registered with.

A service token's ``scope`` is ``internal`` plus the client's fields (``account.whatsapp``,
...). The internal API answers a service with every field that is not personal (ids, role,
status, plan, modules) and, of the personal ones, only those its token names; the others are
null. What the first-party modules read (kept in docs/avadmin-contract.md):

- StockTech: the seller company's name and WhatsApp (the product page, the purchase's
  WhatsApp link): ``account.company_name account.whatsapp``.
- Lucrum: nothing personal (it reads the company's modules only).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from avelar_kit.auth.principal import Principal

PERSONAL_FIELDS: dict[str, frozenset[str]] = {
    "user": frozenset({"full_name", "cpf", "whatsapp"}),
    "account": frozenset({"company_name", "cnpj", "whatsapp"}),
}
KNOWN = frozenset(f"{kind}.{f}" for kind, fields in PERSONAL_FIELDS.items() for f in fields)
STOCKTECH_FIELDS = ("account.company_name", "account.whatsapp")


def unknown_fields(fields: Iterable[str]) -> list[str]:
    return sorted(set(fields) - KNOWN)


def service_scope(fields: Iterable[str]) -> str:
    return " ".join(["internal", *sorted(set(fields) & KNOWN)])


def minimised(principal: Principal, kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` (a user or an account answer) as ``principal`` may see it: a user token sees
    its own company's data whole; a service token only the personal fields in its scope."""
    if not principal.is_service:
        return data
    return {k: (v if k not in PERSONAL_FIELDS[kind] or f"{kind}.{k}" in principal.scopes
                else None)
            for k, v in data.items()}
