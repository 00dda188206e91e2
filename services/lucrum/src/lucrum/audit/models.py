from __future__ import annotations

from avelar_kit.audit import AuditMixin
from lucrum.db import Base


class AuditLog(AuditMixin, Base):
    """Company admins' writes here: bank accounts, categories, deleted entries and transfers
    (ADR 0017). Append-only: the app role may not UPDATE or DELETE."""

    __tablename__ = "audit_log"
