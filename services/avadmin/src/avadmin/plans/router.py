from __future__ import annotations

from fastapi import APIRouter

from avadmin.plans.repository import PlanRepository
from avadmin.plans.schemas import PlanOut
from avelar_kit.auth.caller import PUBLIC
from avelar_kit.db.session import SessionDep

router = APIRouter(tags=["plans"])


@router.get("/api/plans", response_model=list[PlanOut], dependencies=[PUBLIC])
async def list_plans(session: SessionDep) -> list[PlanOut]:
    """Plans on sale (public)."""
    return [PlanOut.model_validate(p) for p in await PlanRepository(session).list()]
