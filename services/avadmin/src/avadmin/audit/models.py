from __future__ import annotations

from avadmin.db import Base
from avelar_kit.audit import AuditMixin


class AuditLog(AuditMixin, Base):
    """Who did what, when, from where, before and after: company admins' and operators' writes
    (and the system's acts on accounts). Append-only: the app role may not UPDATE or DELETE."""

    __tablename__ = "audit_log"
