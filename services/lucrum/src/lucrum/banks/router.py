from __future__ import annotations

from fastapi import APIRouter

from lucrum.banks.data import BANKS, bank_label
from lucrum.banks.schemas import BankOut
from lucrum.dependencies import LucrumUser

router = APIRouter(prefix="/api/banks", tags=["banks"])


@router.get("", response_model=list[BankOut])
async def list_banks(_: LucrumUser) -> list[BankOut]:
    """Brazilian banks by COMPE code, to pick from when registering a bank account."""
    return [BankOut(code=c, name=n, label=bank_label(c)) for c, n in BANKS.items()]
