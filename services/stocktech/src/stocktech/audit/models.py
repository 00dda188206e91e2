from __future__ import annotations

from avelar_kit.audit import AuditMixin
from stocktech.db import Base


class AuditLog(AuditMixin, Base):
    """Operators' writes to categories and brands and company admins' writes here (ADR 0017).
    Append-only: the app role may not UPDATE or DELETE."""

    __tablename__ = "audit_log"
