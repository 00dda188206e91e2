"""Bad input gets a clear 4xx problem+json naming the field; the database holds the line too."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from .conftest import signup_body


@pytest.mark.parametrize(("path", "value", "field"), [
    (("admin", "cpf"), "529.982.247-26", "admin.cpf"),      # wrong check digit
    (("admin", "cpf"), "111.111.111-11", "admin.cpf"),      # all digits equal
    (("admin", "cpf"), "5299822472", "admin.cpf"),          # 10 digits
    (("admin", "cpf"), "52998224725a", "admin.cpf"),
    (("company", "cnpj"), "11.222.333/0001-82", "company.cnpj"),
    (("company", "cnpj"), "00000000000000", "company.cnpj"),
    (("company", "cnpj"), "12ABC34501DE3A", "company.cnpj"),  # letter in a check digit
    (("company", "cnpj"), "12ABC34501DE36", "company.cnpj"),
    (("company", "whatsapp"), "+55 11 3333-4444", "company.whatsapp"),  # landline
    (("company", "whatsapp"), "+1 415 555 2671", "company.whatsapp"),   # not Brazilian
    (("admin", "whatsapp"), "123", "admin.whatsapp"),
    (("admin", "password"), "short1", "admin.password"),
    (("admin", "password"), "semnumeros", "admin.password"),
    (("company", "company_name"), "", "company.company_name"),
])
async def test_invalid_signup_fields(client: httpx.AsyncClient, plans: Any,
                                     path: tuple[str, str], value: str, field: str) -> None:
    body = signup_body()
    body[path[0]][path[1]] = value
    resp = await client.post("/api/auth/signup", json=body)
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    problem = resp.json()
    assert problem["code"] == "validation_error"
    assert problem["status"] == 422
    assert field in [e["field"] for e in problem["errors"]]
    assert field in problem["detail"]


async def test_unknown_field_wrong_types_and_broken_json(client: httpx.AsyncClient,
                                                         plans: Any) -> None:
    body = signup_body()
    body["company"]["is_admin"] = True
    assert (await client.post("/api/auth/signup", json=body)).status_code == 422
    broken = await client.post("/api/auth/signup", content=b'{"company": ',
                               headers={"content-type": "application/json"})
    assert broken.status_code == 422
    assert broken.json()["code"] == "validation_error"
    arr = await client.post("/api/auth/signup", json=[1, 2])
    assert arr.status_code == 422
    huge = await client.post("/api/auth/login", json={"cpf": "52998224725", "password": "x" * 300})
    assert huge.status_code == 422
    neither = signup_body()
    neither.pop("plan_name")
    assert (await client.post("/api/auth/signup", json=neither)).status_code == 422
    unknown_plan = signup_body()
    unknown_plan["plan_name"] = "Ouro"
    resp = await client.post("/api/auth/signup", json=unknown_plan)
    assert resp.status_code == 422
    assert resp.json()["code"] == "plan_not_found"


async def test_unknown_route_and_method_are_problem_json(client: httpx.AsyncClient) -> None:
    nf = await client.get("/api/nada")
    assert nf.status_code == 404
    assert nf.headers["content-type"] == "application/problem+json"
    assert nf.json()["code"] == "not_found"
    m = await client.delete("/api/plans")
    assert m.status_code == 405
    assert m.json()["code"] == "method_not_allowed"


@pytest.mark.parametrize(("table", "column", "value"), [
    ("users", "cpf", "52998224726"),
    ("users", "cpf", "11111111111"),
    ("accounts", "cnpj", "11222333000182"),
    ("accounts", "cnpj", "12abc34501de35"),  # lower case is not the stored form
    ("accounts", "whatsapp", "+551133334444"),
])
async def test_database_rejects_invalid_documents(app: Any, signup: Any, table: str,
                                                  column: str, value: str) -> None:
    company = await signup()
    target = company.user_id if table == "users" else company.account_id
    async with app.state.db.engine.connect() as conn:
        # The platform's context: the company's own row is what the check must refuse.
        await conn.execute(text("SELECT set_config('avelar.system', 'on', true)"))
        with pytest.raises(IntegrityError):
            await conn.execute(text(f"UPDATE {table} SET {column} = :v WHERE id = :id"),  # noqa: S608
                               {"v": value, "id": target})
        await conn.rollback()


async def test_database_accepts_the_alphanumeric_vector(app: Any) -> None:
    async with app.state.db.engine.connect() as conn:
        ok = await conn.scalar(text("SELECT avelar_cnpj_is_valid('12ABC34501DE35')"))
        assert ok is True


async def test_nul_bytes_invisible_names_and_big_prices_name_the_field(
    client: httpx.AsyncClient, signup: Any, operator: dict[str, str], plans: Any
) -> None:
    a = await signup()
    cases: list[tuple[str, str, dict[str, str], Any, str]] = [
        ("PATCH", f"/api/users/{a.user_id}", a.headers, {"full_name": "Ana\u0000Souza"},
         "full_name"),
        ("PATCH", f"/api/users/{a.user_id}", a.headers, {"full_name": "\u200b\u200b\u200b"},
         "full_name"),
        ("PATCH", "/api/accounts/me", a.headers, {"company_name": "Loja\u0000"},
         "company_name"),
        ("POST", "/api/operator/plans", operator,
         {"name": "Gigante", "price": "100000000.00", "max_products": 1, "max_users": 1,
          "max_transactions": 1}, "price"),
        ("POST", "/api/operator/plans", operator,
         {"name": "Nulo\u0000", "price": "1.00", "max_products": 1, "max_users": 1,
          "max_transactions": 1, "features": ["a\u0000"]}, "name"),
        ("POST", f"/api/operator/accounts/{a.account_id}/suspend", operator,
         {"reason": "x\u0000"}, "reason"),
        ("GET", "/api/operator/accounts?q=%00", operator, None, "q"),
        ("POST", "/api/operator/login", {}, {"email": "a\u0000@b.c", "password": "x"}, "email"),
    ]
    for method, path, headers, body, field in cases:
        resp = await client.request(method, path, headers=headers, json=body)
        assert resp.status_code == 422, (path, resp.text)
        assert resp.json()["code"] == "validation_error", (path, resp.text)
        assert field in [e["field"] for e in resp.json()["errors"]], (path, resp.text)


async def test_service_token_body_nested_too_deep_is_400(client: httpx.AsyncClient) -> None:
    resp = await client.post("/api/auth/service-token", content=b"[" * 100_000,
                             headers={"content-type": "application/json"})
    assert resp.status_code == 400
    assert resp.json()["code"] == "invalid_body"
