"""Contract tests (issue 3, point 6): they fail when AvAdmin's internal API changes in a way
the released client cannot read, so StockTech v2 and AvAdmin v1.5 can ship apart.

Two views: AvAdmin's published OpenAPI document (static, catches a removed/renamed/optional
field before anything runs) and the real process's answers (catches what the schema hides)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from avelar_kit.avadmin.client import AvAdminClient
from avelar_kit.avadmin.models import AvAdminAccount, AvAdminPlan, AvAdminUser, PlanSummary

ROUTES: list[tuple[str, type[BaseModel]]] = [
    ("/api/users/{user_id}", AvAdminUser),
    ("/api/accounts/{account_id}", AvAdminAccount),
    ("/api/accounts/{account_id}/plan", AvAdminPlan),
]


def _required(model: type[BaseModel]) -> set[str]:
    return {name for name, f in model.model_fields.items() if f.is_required()}


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    from avadmin.config import Settings
    from avadmin.main import create_app
    from avadmin.security.keys import KeyRing
    from avelar_kit.auth.signing import SigningKey

    return create_app(Settings(), keyring=KeyRing(SigningKey.generate())).openapi()


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = doc["components"]["schemas"][name]
    return schema


@pytest.mark.parametrize(("path", "model"), ROUTES)
def test_openapi_promises_every_field_the_client_requires(
    openapi: dict[str, Any], path: str, model: type[BaseModel]
) -> None:
    op = openapi["paths"][path]["get"]
    schema = _resolve(openapi, op["responses"]["200"]["content"]["application/json"]["schema"])
    missing = _required(model) - set(schema.get("required", []))
    assert not missing, f"AvAdmin no longer guarantees {sorted(missing)} on {path}"
    if model is AvAdminAccount:
        plan = _resolve(openapi, schema["properties"]["plan"])
        assert not _required(PlanSummary) - set(plan.get("required", []))


def test_service_token_endpoint_is_in_the_contract(openapi: dict[str, Any]) -> None:
    op = openapi["paths"]["/api/auth/service-token"]["post"]
    schema = _resolve(openapi, op["responses"]["200"]["content"]["application/json"]["schema"])
    assert {"access_token", "expires_in"} <= set(schema["required"]) | set(schema["properties"])


async def test_real_answers_carry_every_contract_field(
    avadmin: Any, api: Any, redis: Any
) -> None:
    company = await api.signup()
    async with httpx.AsyncClient(base_url=avadmin.url, timeout=10) as c:
        token = (await c.post("/api/auth/service-token", json={
            "client_id": avadmin.env["TEST_CLIENT_ID"],
            "client_secret": avadmin.env["TEST_CLIENT_SECRET"]})).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        for path, model in ROUTES:
            url = path.format(user_id=company.user_id, account_id=company.account_id)
            raw = (await c.get(url, headers=headers)).json()
            missing = set(model.model_fields) - set(raw)
            assert not missing, f"{url} lacks {sorted(missing)}"
            model.model_validate(raw)
    client = AvAdminClient(avadmin.url, avadmin.env["TEST_CLIENT_ID"],
                           avadmin.env["TEST_CLIENT_SECRET"], redis, module="ContractTest")
    try:
        assert (await client.get_user(company.user_id)) is not None
        account = await client.get_account(company.account_id)
        assert account is not None and account.is_active and account.enabled_modules
        assert (await client.get_account_plan(company.account_id)) is not None
    finally:
        await client.aclose()


@pytest.fixture
async def redis(redis_url: str) -> Any:
    import redis.asyncio as aioredis

    r = aioredis.Redis.from_url(redis_url)
    yield r
    await r.aclose()
