"""Lucrum's role matrix (``avelar_kit.auth.permissions``): who in a company may do what.

Any user of a company with Lucrum enabled reads its books, posts and edits entries, makes
transfers and imports statements; only its admins change bank accounts and categories and
delete entries and transfers."""

from __future__ import annotations

from avelar_kit.auth.permissions import ADMINS, EVERYONE, Permissions

MODULE = "Lucrum"

PERMISSIONS = Permissions(MODULE, {
    "bank_accounts.create": ADMINS,
    "bank_accounts.update": ADMINS,
    "bank_accounts.delete": ADMINS,
    "categories.create": ADMINS,
    "categories.update": ADMINS,
    "categories.delete": ADMINS,
    "entries.create": EVERYONE,
    "entries.update": EVERYONE,
    "entries.delete": ADMINS,
    "transfers.create": EVERYONE,
    "transfers.delete": ADMINS,
    "imports.create": EVERYONE,
    # GET /api/audit: the company's own audit trail (operators read every company's).
    "audit.read": ADMINS,
})
