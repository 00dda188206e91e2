"""AvAdmin's role matrix (``avelar_kit.auth.permissions``): who in a company may do what here.

A company's admins manage its users, its data and enabled modules, and its billing; every user
reads the company, edits its own name, WhatsApp and password (the services check "its own")."""

from __future__ import annotations

from typing import Annotated

from avelar_kit.auth.permissions import ADMINS, Permissions, require_principal
from avelar_kit.auth.principal import Principal

MODULE = "AvAdmin"

PERMISSIONS = Permissions(MODULE, {
    "users.create": ADMINS,
    # Checked by UserService (they depend on the data): the list carries coworkers' CPFs;
    # anyone edits its own name and WhatsApp, only admins edit others or roles.
    "users.list": ADMINS,
    "users.update": ADMINS,
    "users.deactivate": ADMINS,
    "users.activate": ADMINS,
    # Issue 12: an admin sets a temporary password for a user of the company. (Only admins
    # verify the company's WhatsApp: VerificationService checks it, the route is everyone's.)
    "users.reset_password": ADMINS,
    "account.update": ADMINS,
    "billing.checkout": ADMINS,
    # GET /api/audit: the company's own audit trail (operators read every company's).
    "audit.read": ADMINS,
})

CanCreateUser = Annotated[Principal, require_principal("users.create")]
CanDeactivateUser = Annotated[Principal, require_principal("users.deactivate")]
CanActivateUser = Annotated[Principal, require_principal("users.activate")]
CanResetPassword = Annotated[Principal, require_principal("users.reset_password")]
CanUpdateAccount = Annotated[Principal, require_principal("account.update")]
CanCheckout = Annotated[Principal, require_principal("billing.checkout")]
