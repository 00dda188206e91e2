from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

from avadmin.schemas_common import AnyPassword, InputModel, Name100, NewPassword, OutputModel
from avadmin.users.models import Role
from avelar_kit.br.types import CPF, WhatsApp


class UserOut(OutputModel):
    id: uuid.UUID
    account_id: uuid.UUID
    # Personal fields: null for a service client whose scope does not name them.
    full_name: str | None
    cpf: str | None
    whatsapp: str | None
    role: Role
    is_active: bool
    whatsapp_verified: bool
    created_at: datetime


class UserCreate(InputModel):
    full_name: Name100
    cpf: CPF
    whatsapp: WhatsApp
    password: NewPassword
    role: Role = Role.user


class UserUpdate(InputModel):
    full_name: Name100 | None = None
    whatsapp: WhatsApp | None = None
    role: Role | None = None


class AdminPasswordReset(InputModel):
    cpf: CPF
    temporary_password: NewPassword


class AcceptedOut(BaseModel):
    status: str = "accepted"


class PasswordChange(InputModel):
    current_password: AnyPassword
    new_password: NewPassword


class InternalUserOut(BaseModel):
    """The seed's ``GET /api/users/{id}``: exactly these fields, never a password hash."""

    id: uuid.UUID
    # Personal fields: null for a service client whose scope does not name them.
    full_name: str | None
    cpf: str | None
    whatsapp: str | None
    account_id: uuid.UUID
    role: Role
    is_active: bool
    # Not PII: when the user's sessions were last ended (password change). Every module refuses
    # tokens issued before it.
    sessions_valid_after: datetime | None = None
