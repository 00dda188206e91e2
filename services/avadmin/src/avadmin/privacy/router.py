"""LGPD: a person's export and erasure (docs/privacy.md)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request, Response, status
from fastapi.responses import JSONResponse

from avadmin.privacy.dependencies import PrivacyActor
from avadmin.privacy.models import ExportStatus, PrivacyExport
from avadmin.privacy.schemas import ErasureOut, ExportOut, PrivacyRequest
from avadmin.privacy.service import PrivacyService
from avadmin.privacy.worker import scrub_erasure
from avelar_kit.audit import AUDITED
from avelar_kit.db.session import SessionDep

router = APIRouter(prefix="/api/privacy", tags=["privacy"])


def _out(export: PrivacyExport) -> ExportOut:
    return ExportOut(
        id=export.id, user_id=export.user_id, status=export.status,
        modules_ready=sorted(export.parts), missing=list(export.missing),
        created_at=export.created_at, completed_at=export.completed_at,
        expires_at=export.expires_at,
        download_url=f"/api/privacy/exports/{export.id}/download")


@router.post("/export", response_model=ExportOut, status_code=status.HTTP_201_CREATED,
             dependencies=[AUDITED],
             responses={202: {"model": ExportOut,
                              "description": "Parte dos módulos ainda não respondeu"}})
async def request_export(body: PrivacyRequest, actor: PrivacyActor, session: SessionDep,
                         request: Request, response: Response) -> ExportOut:
    """Export of every personal field the person has in AvAdmin, StockTech and Lucrum, as one
    JSON document. For oneself, or by an operator on the person's request (recorded). Waits a
    bounded time for the modules: `201` when complete, `202` with `missing` when a module did
    not answer (the export completes later; poll `GET /api/privacy/exports/{id}`). Only the
    person downloads it, until `expires_at`."""
    settings = request.app.state.settings
    sources = request.app.state.privacy_sources
    service = PrivacyService(session)
    export = await service.request_export(actor, body.user_id, sources.names,
                                          settings.privacy_export_ttl_seconds)
    if export.missing:
        await service.fill(export, await sources.fetch(export.user_id, list(export.missing)))
    if export.status != ExportStatus.complete:
        response.status_code = status.HTTP_202_ACCEPTED
    return _out(export)


@router.get("/exports/{export_id}", response_model=ExportOut)
async def export_status(export_id: uuid.UUID, actor: PrivacyActor,
                        session: SessionDep) -> ExportOut:
    """An export's status and what is still missing (the person, or an operator)."""
    return _out(await PrivacyService(session).visible_export(actor, export_id))


@router.get("/exports/{export_id}/download")
async def download_export(export_id: uuid.UUID, actor: PrivacyActor,
                          session: SessionDep) -> JSONResponse:
    """The export document (JSON), for the person only, once complete and until it expires."""
    document: dict[str, Any] = await PrivacyService(session).document(actor, export_id)
    return JSONResponse(document, headers={
        "Content-Disposition": f'attachment; filename="avelarsys-dados-{export_id}.json"',
        "Cache-Control": "no-store"})


@router.post("/erase", response_model=ErasureOut, dependencies=[AUDITED])
async def erase(body: PrivacyRequest, actor: PrivacyActor, session: SessionDep,
                request: Request, background: BackgroundTasks) -> ErasureOut:
    """Erase the person's personal data everywhere (the person, a company admin for a user of
    the company, or an operator): name, CPF and WhatsApp become a pseudonym in AvAdmin, every
    session and refresh token ends, StockTech and Lucrum drop their copies on `user.erased`.
    Fiscal and financial records stay, under the user id as pseudonymous reference. The last
    admin of a company with an active subscription cannot be erased (`409`)."""
    user = await PrivacyService(session).erase(actor, body.user_id)
    # After the commit (background tasks run once the answer is sent): the events that
    # carried the person's fields leave AvAdmin's streams; the job retries if this fails.
    background.add_task(scrub_erasure, request.app, user.id)
    assert user.erased_at is not None
    return ErasureOut(user_id=user.id, erased_at=user.erased_at, reference=str(user.id))
