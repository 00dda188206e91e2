"""Every AvAdmin table, gathered for Alembic and the tests (each domain package owns its own
models). The database enforces the rules that must never be broken: document shapes and check
digits, uniqueness, non-negative money and limits."""

from avadmin.accounts.models import Account, AccountStatus
from avadmin.audit.models import AuditLog
from avadmin.auth.models import (
    LoginThrottle,
    Operator,
    PendingSignup,
    RefreshToken,
    ServiceClient,
)
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
from avadmin.messaging.models import MessageStatus, OutgoingMessage
from avadmin.modules.models import MODULES, Module
from avadmin.notifications.models import HandledEvent
from avadmin.plans.models import BillingCycle, Plan
from avadmin.privacy.models import Erasure, PrivacyExport
from avadmin.users.models import Role, User
from avadmin.whatsapp.models import CodePurpose, VerificationCode

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
    "CodePurpose",
    "Erasure",
    "GatewayPlan",
    "HandledEvent",
    "LoginThrottle",
    "MessageStatus",
    "Module",
    "Operator",
    "OutboxEvent",
    "OutgoingMessage",
    "PendingSignup",
    "Plan",
    "PrivacyExport",
    "RefreshToken",
    "Role",
    "ServiceClient",
    "Subscription",
    "User",
    "VerificationCode",
]
