"""The tenant matrix discovers routes from the OpenAPI: a route with an id of a kind it has no
owner's id for, or a required body it has no request for, is a failure, not a skip."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import BaseModel

from avelar_kit.testing.tenancy import TenantMatrix, id_operations


class Widget(BaseModel):
    name: str


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/api/widgets/{widget_id}")
    async def get_widget(widget_id: uuid.UUID) -> dict[str, str]:
        return {}

    @app.post("/api/widgets/{widget_id}/parts")
    async def add_part(widget_id: uuid.UUID, body: Widget) -> dict[str, str]:
        return {}

    @app.get("/api/widgets")
    async def list_widgets() -> list[str]:
        return []

    return app


async def _nothing() -> dict[str, Any]:
    return {}


def test_every_route_with_a_path_id_is_found_and_an_unknown_id_kind_fails() -> None:
    spec = _app().openapi()
    assert [op.key for op in id_operations(spec)] == [
        "GET /api/widgets/{widget_id}", "POST /api/widgets/{widget_id}/parts"]
    client = httpx.AsyncClient(base_url="http://t")
    bare = TenantMatrix(client=client, openapi=spec, owner={}, intruders={}, ids={},
                        snapshot=_nothing)
    assert bare.uncovered() == [
        "GET /api/widgets/{widget_id}: no owner id for {widget_id} (add it to the ids)",
        "POST /api/widgets/{widget_id}/parts: no owner id for {widget_id} (add it to the ids)",
        "POST /api/widgets/{widget_id}/parts: a required body and no request (add it to "
        "requests)"]
    covered = TenantMatrix(
        client=client, openapi=spec, owner={}, intruders={},
        ids={"widget_id": str(uuid.uuid4())}, snapshot=_nothing,
        requests={"POST /api/widgets/{widget_id}/parts": {"json": {"name": "x"}}})
    assert covered.uncovered() == []
