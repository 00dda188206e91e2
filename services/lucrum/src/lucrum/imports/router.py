from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile
from starlette.types import Message

from avelar_kit.db import SessionDep
from avelar_kit.errors import AppError, Unprocessable
from lucrum.dependencies import CanImport, CodeGeneratorDep
from lucrum.imports.csv_reader import AmountFormat
from lucrum.imports.schemas import ImportResult
from lucrum.imports.service import ImportService

router = APIRouter(prefix="/api/bank-accounts", tags=["bank statement import"])

# Room for the multipart framing and the small form fields around the file.
_FORM_OVERHEAD = 64 * 1024


class PayloadTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"
    title = "Conteúdo grande demais"


def _bounded(request: Request, max_bytes: int, error: AppError) -> Request:
    """The same request, whose body stops being read past ``max_bytes``: a chunked upload
    (no Content-Length) cannot stream gigabytes into the multipart parser's temporary file."""
    received = 0

    async def receive() -> Message:
        nonlocal received
        message = await request.receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > max_bytes:
                raise error
        return message

    return Request(request.scope, receive)


_UPLOAD_SCHEMA: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": {
            "type": "object",
            "required": ["file"],
            "properties": {
                "file": {"type": "string", "format": "binary",
                         "description": "Extrato OFX ou CSV"},
                "amount_format": {"type": "string", "enum": ["auto", "decimal", "cents"],
                                  "default": "auto",
                                  "description": "CSV: valores em centavos sem vírgula?"},
            },
        }}},
    }
}


@router.post("/{bank_account_id}/import", response_model=ImportResult,
             openapi_extra=_UPLOAD_SCHEMA)
async def import_statement(
    bank_account_id: uuid.UUID, request: Request, session: SessionDep, caller: CanImport,
    codes: CodeGeneratorDep,
) -> ImportResult:
    """Import a bank statement (multipart field `file`): OFX (v1 SGML or v2 XML, any charset
    Brazilian banks use) or CSV (`;`/`,`/tab, comma decimals, optional whole cents with
    `amount_format=cents`). Lines already imported (same bank id: OFX FITID, CSV id column, or
    a hash of date, amount, description and repetition) are skipped, so re-importing a file
    creates nothing twice. The answer counts what was imported, skipped and rejected (with
    why). Files above the configured size (5 MB by default) get 413."""
    limit: int = request.app.state.settings.import_max_bytes
    too_large = PayloadTooLarge(f"O arquivo passa do limite de {limit // (1024 * 1024)} MB")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + _FORM_OVERHEAD:
        raise too_large
    async with _bounded(request, limit + _FORM_OVERHEAD, too_large).form(
        max_files=1, max_fields=5
    ) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise Unprocessable("Envie o extrato no campo 'file' (multipart/form-data)",
                                code="file_required")
        data = await upload.read(limit + 1)
        filename = upload.filename
        raw_format = form.get("amount_format") or "auto"
    if len(data) > limit:
        raise too_large
    if not data.strip():
        raise Unprocessable("O arquivo está vazio", code="empty_file")
    if raw_format not in ("auto", "decimal", "cents"):
        raise Unprocessable("amount_format deve ser auto, decimal ou cents",
                            code="invalid_amount_format")
    amount_format: AmountFormat = raw_format  # type: ignore[assignment]
    return await ImportService(session, codes).import_statement(
        caller.account_id, caller.user_id, bank_account_id, data, filename, amount_format,
    )
