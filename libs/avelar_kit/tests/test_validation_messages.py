"""Every 422 speaks Portuguese: pydantic's English messages never reach a person."""

from __future__ import annotations

import re
import typing
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import core_schema

from avelar_kit.errors import install_error_handlers
from avelar_kit.validation_messages import _MESSAGES, GENERIC, message_pt

# Words of pydantic's English templates ("Input should be", "Field required", "String should").
_ENGLISH = re.compile(r"\b(should|must|Input|Field required|valid|characters|greater|less)\b")


class Kind(StrEnum):
    income = "income"
    expense = "expense"


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=2, max_length=5)]
    price: Annotated[Decimal, Field(gt=0, max_digits=6, decimal_places=2)]
    quantity: Annotated[int, Field(ge=1, le=10)]
    kind: Kind
    mode: Literal["a", "b"]
    day: date
    ref: UUID
    tags: Annotated[list[str], Field(max_length=2)]
    code: Annotated[str, Field(pattern=r"^ST\d{6}[A-Z]$")]
    flag: bool
    note: str = "x"

    @field_validator("note")
    @classmethod
    def _note(cls, v: str) -> str:
        if v == "proibido":
            raise ValueError("observação não permitida")
        return v


@pytest.fixture
def client() -> httpx.AsyncClient:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/x")
    async def x(body: Body) -> dict[str, str]:
        return {"ok": "yes"}

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


BAD = {
    "name": "a", "price": "0", "quantity": 11, "kind": "gift", "mode": "c", "day": "31/12/2026",
    "ref": "nope", "tags": ["a", "b", "c"], "code": "X1", "flag": "talvez", "note": "proibido",
    "extra": 1,
}


async def test_every_message_of_a_bad_body_is_portuguese_and_names_its_field(
        client: httpx.AsyncClient) -> None:
    r = await client.post("/x", json=BAD)
    assert r.status_code == 422
    errors = {e["field"]: e["message"] for e in r.json()["errors"]}
    assert set(errors) == set(BAD)
    for field, message in errors.items():
        assert not _ENGLISH.search(message), (field, message)
        assert message != GENERIC, (field, message)
    assert errors["name"] == "deve ter ao menos 2 caractere(s)"
    assert errors["price"] == "deve ser maior que 0"
    assert errors["quantity"] == "deve ser menor ou igual a 10"
    assert errors["kind"] == "deve ser um destes valores: 'income' ou 'expense'"
    assert errors["note"] == "observação não permitida"
    assert errors["extra"] == "campo não permitido"


async def test_a_missing_body_field_is_obrigatorio(client: httpx.AsyncClient) -> None:
    r = await client.post("/x", json={})
    assert r.status_code == 422
    assert {e["message"] for e in r.json()["errors"]} == {"campo obrigatório"}


def test_every_pydantic_error_type_has_no_english_fallback() -> None:
    # A type missing from the table answers the generic Portuguese sentence, never English;
    # the table itself holds only Portuguese and only types pydantic knows.
    known = set(typing.get_args(core_schema.ErrorType))
    assert set(_MESSAGES) <= known, set(_MESSAGES) - known
    for kind in known:
        msg = message_pt({"type": kind, "msg": "Input should be something", "ctx": {}})
        assert not _ENGLISH.search(msg) or kind in ("value_error", "assertion_error"), kind
    for template in _MESSAGES.values():
        assert not _ENGLISH.search(template), template
