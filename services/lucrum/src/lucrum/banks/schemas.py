from __future__ import annotations

from pydantic import BaseModel


class BankOut(BaseModel):
    code: str
    name: str
    label: str
