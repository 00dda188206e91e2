"""Internal API for AvAdmin's LGPD export: what Lucrum holds about one person."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from avelar_kit.auth.dependencies import ServicePrincipal
from avelar_kit.avadmin.privacy import cached_profile
from avelar_kit.db.session import SessionDep
from lucrum.permissions import MODULE
from lucrum.privacy.schemas import PersonalDataOut
from lucrum.privacy.service import PrivacyService

router = APIRouter(prefix="/api/internal", tags=["internal"])


@router.get("/privacy/users/{user_id}", response_model=PersonalDataOut)
async def personal_data(user_id: uuid.UUID, service: ServicePrincipal, session: SessionDep,
                        request: Request) -> PersonalDataOut:
    """Every field Lucrum holds about the person (internal services only: AvAdmin builds
    the person's export from it)."""
    profile = await cached_profile(request.app, user_id)
    data = await PrivacyService(session).personal_data(user_id, profile)
    return PersonalDataOut(module=MODULE, user_id=user_id, data=data)
