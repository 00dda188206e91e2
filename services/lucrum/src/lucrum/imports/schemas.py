from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class RejectedLine(BaseModel):
    line: int | None = Field(default=None, description="Linha do CSV (1 = cabeçalho)")
    fitid: str | None = Field(default=None, description="FITID da transação OFX")
    reason: str


class ImportResult(BaseModel):
    format: Literal["ofx", "csv"]
    imported: int
    skipped_duplicates: int = Field(description="Já importadas antes ou repetidas no arquivo")
    rejected: list[RejectedLine]
