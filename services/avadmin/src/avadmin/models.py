"""Every AvAdmin table, gathered for Alembic and the tests (each domain package owns its own
models). The database enforces the rules that must never be broken: document shapes and check
digits, uniqueness, non-negative money and limits."""

from avadmin.accounts.models import Account, AccountStatus, AuditLog
from avadmin.auth.models import LoginThrottle, Operator, RefreshToken, ServiceClient
from avadmin.billing.models import (
    BillingMethod,
    BillingNotification,
    BillingStatus,
    BillingTransaction,
    GatewayPlan,
    Subscription,
)
from avadmin.db import Base
from avadmin.events.models import OutboxEvent
from avadmin.modules.models import MODULES, Module
from avadmin.plans.models import BillingCycle, Plan
from avadmin.users.models import Role, User

__all__ = [
    "MODULES",
    "Account",
    "AccountStatus",
    "AuditLog",
    "Base",
    "BillingCycle",
    "BillingMethod",
    "BillingNotification",
    "BillingStatus",
    "BillingTransaction",
    "GatewayPlan",
    "LoginThrottle",
    "Module",
    "Operator",
    "OutboxEvent",
    "Plan",
    "RefreshToken",
    "Role",
    "ServiceClient",
    "Subscription",
    "User",
]
