from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from avadmin.accounts.schemas import AccountOut
from avadmin.schemas_common import AnyPassword, InputModel, Name100, NewPassword
from avadmin.users.schemas import UserOut
from avelar_kit.br.types import CNPJ, CPF, WhatsApp


class CompanyIn(InputModel):
    company_name: Name100
    cnpj: CNPJ
    whatsapp: WhatsApp
    responsible_name: Name100


class AdminIn(InputModel):
    full_name: Name100
    cpf: CPF
    whatsapp: WhatsApp
    password: NewPassword


class SignupIn(InputModel):
    company: CompanyIn
    admin: AdminIn
    plan_id: uuid.UUID | None = None
    plan_name: str | None = Field(default=None, max_length=50)

    @model_validator(mode="after")
    def _one_plan(self) -> SignupIn:
        if (self.plan_id is None) == (self.plan_name is None):
            raise ValueError("informe plan_id ou plan_name (um dos dois)")
        return self


class LoginIn(InputModel):
    cpf: CPF
    password: AnyPassword


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105
    expires_in: int


class SignupOut(TokenPair):
    account: AccountOut
    user: UserOut


class RefreshIn(InputModel):
    refresh_token: str = Field(min_length=10, max_length=4096)


class ServiceTokenIn(InputModel):
    grant_type: Literal["client_credentials"] = "client_credentials"
    client_id: str = Field(min_length=1, max_length=64)
    client_secret: str = Field(min_length=1, max_length=256)


class ServiceTokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105
    expires_in: int
    scope: str = "internal"


class OperatorLoginIn(InputModel):
    email: str = Field(min_length=3, max_length=254)
    password: AnyPassword


class SignupPendingOut(BaseModel):
    """The answer to every well-formed signup: the code went to the admin's WhatsApp."""

    signup_id: uuid.UUID
    status: Literal["pending_confirmation"] = "pending_confirmation"
    whatsapp: str = Field(description="o WhatsApp informado, mascarado")
    expires_in: int
    resend_in: int


class SignupConfirmIn(InputModel):
    signup_id: uuid.UUID
    code: str = Field(pattern=r"^[0-9]{6}$")


class ForgotPasswordIn(InputModel):
    cpf: CPF


class CodeRequestedOut(BaseModel):
    """Same answer whether or not the CPF is registered."""

    status: Literal["code_sent_if_registered"] = "code_sent_if_registered"
    detail: str = ("Se o CPF estiver cadastrado com um WhatsApp verificado, enviamos um código "
                   "para ele.")
    expires_in: int
    resend_in: int


class ResetPasswordIn(InputModel):
    cpf: CPF
    code: str = Field(pattern=r"^[0-9]{6}$")
    new_password: NewPassword


class ChangeRequiredPasswordIn(InputModel):
    cpf: CPF
    current_password: AnyPassword
    new_password: NewPassword
