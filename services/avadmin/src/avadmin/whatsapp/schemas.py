from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from avadmin.schemas_common import InputModel
from avelar_kit.br.types import WhatsApp

Code = Field(pattern=r"^[0-9]{6}$", description="os 6 dígitos recebidos pelo WhatsApp")


class VerifyStartIn(InputModel):
    target: Literal["user", "account"] = "user"
    # A new number to verify (it replaces the stored one, which then counts as unverified).
    whatsapp: WhatsApp | None = None


class VerifyConfirmIn(InputModel):
    target: Literal["user", "account"] = "user"
    code: str = Code


class CodeSentOut(BaseModel):
    status: Literal["code_sent"] = "code_sent"
    whatsapp: str = Field(description="o número, mascarado, para onde o código foi")
    expires_in: int
    resend_in: int


class VerifiedOut(BaseModel):
    target: Literal["user", "account"]
    whatsapp_verified: bool
