"""Issue 9: schemathesis against AvAdmin's OpenAPI through the ASGI app, anonymous and as a
company's admin: no 5xx, every answer conforms to the documented schema."""

from __future__ import annotations

from typing import Any

import httpx

from avelar_kit.testing.fuzz import fuzz


async def test_openapi_fuzz_no_server_error_and_schema_conformance(
    client: httpx.AsyncClient, signup: Any
) -> None:
    company = await signup()
    spec = (await client.get("/openapi.json")).json()
    sent, failures = await fuzz(client, spec, [{}, company.headers])
    print(f"[fuzz] AvAdmin: {sent} requests")
    assert sent > 0
    assert not failures, "\n".join(failures[:20])
