"""StockTech's role matrix (``avelar_kit.auth.permissions``): who in a company may do what.

Any user of a company with StockTech enabled browses the marketplace, lists and edits the
company's products, buys, and completes or cancels the company's transactions; only its admins
take products off the marketplace. Categories and brands are the platform's: operators (or an
internal service) manage them, not companies."""

from __future__ import annotations

from avelar_kit.auth.permissions import ADMINS, EVERYONE, Permissions

MODULE = "StockTech"

PERMISSIONS = Permissions(MODULE, {
    "products.create": EVERYONE,
    "products.update": EVERYONE,
    "products.delete": ADMINS,
    # GET /api/audit: the company's own rows (operators read every row).
    "audit.read": ADMINS,
    "transactions.create": EVERYONE,
    "transactions.complete": EVERYONE,
    "transactions.cancel": EVERYONE,
})
