from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from .conftest import Company, Taxonomy, TestAvAdmin, product_body


async def test_create_and_read_product(
    client: httpx.AsyncClient, company: Any, taxonomy: Taxonomy
) -> None:
    seller: Company = company(name="Peças Paulista LTDA")
    resp = await client.post("/api/products", json=product_body(taxonomy), headers=seller.headers)
    assert resp.status_code == 201, resp.text
    data = resp.json()
    assert data["price"] == "289.90"
    assert data["stock_quantity"] == 10
    assert data["seller"] == {"account_id": str(seller.account_id),
                              "company_name": "Peças Paulista LTDA"}
    assert data["category"]["name"] == "Telas e Displays"
    assert data["brand"]["name"] == "Apple"
    assert data["user_id"] == str(seller.user_id)
    assert data["images"] == ["https://cdn.example.com/tela.jpg"]

    buyer: Company = company()
    seen = await client.get(f"/api/products/{data['id']}", headers=buyer.headers)
    assert seen.status_code == 200
    assert seen.json()["user_id"] is None  # who listed it is the seller's business
    by_code = await client.get(f"/api/products/by-code/{data['code'].lower()}",
                               headers=buyer.headers)
    assert by_code.status_code == 200
    assert by_code.json()["id"] == data["id"]


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"price": "-1.00"}, "price"),
        ({"price": 10.5}, "price"),
        ({"price": "10.999"}, "price"),
        ({"price": "100000000.00"}, "price"),
        # issue 9: the same money rule as Lucrum (the OpenAPI pattern and the validator agree)
        ({"price": "0"}, "price"),
        ({"price": "0.00"}, "price"),
        ({"price": "+1.00"}, "price"),
        ({"price": " 1.00 "}, "price"),
        ({"stock_quantity": -1}, "stock_quantity"),
        ({"stock_quantity": True}, "stock_quantity"),
        ({"stock_quantity": "5"}, "stock_quantity"),
        ({"stock_quantity": 5.0}, "stock_quantity"),
        ({"images": ["https://cdn.example.com/a.jpg"] * 2}, "images"),
        ({"name": " "}, "name"),
        ({"images": ["not a url"]}, "images.0"),
        ({"images": ["ftp://example.com/a.jpg"]}, "images.0"),
        ({"images": [f"https://cdn.example.com/{i}.jpg" for i in range(11)]}, "images"),
        ({"specifications": {"x": "y" * 9000}}, "specifications"),
        ({"specifications": ["not", "an", "object"]}, "specifications"),
        ({"unknown": 1}, "unknown"),
    ],
)
async def test_invalid_product_input_is_422(
    client: httpx.AsyncClient, company: Any, taxonomy: Taxonomy, override: dict[str, Any],
    field: str,
) -> None:
    seller: Company = company()
    resp = await client.post("/api/products", json=product_body(taxonomy, **override),
                             headers=seller.headers)
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert body["code"] == "validation_error"
    assert field in {e["field"] for e in body["errors"]}


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", '"\\ud800"'])
async def test_specifications_jsonb_cannot_store_are_a_validation_error(
    client: httpx.AsyncClient, company: Any, taxonomy: Taxonomy, value: str
) -> None:
    # Python's JSON parser accepts these; PostgreSQL's JSONB does not. They must be refused as
    # a field error before the database sees them, and nothing is written.
    seller: Company = company()
    body = json.dumps(product_body(taxonomy, specifications={"tensão": "PLACEHOLDER"}))
    body = body.replace('"PLACEHOLDER"', value)
    resp = await client.post("/api/products", content=body.encode(),
                             headers={**seller.headers, "Content-Type": "application/json"})
    assert resp.status_code == 422, resp.text
    assert resp.json()["code"] == "validation_error"
    assert "specifications" in {e["field"] for e in resp.json()["errors"]}
    mine = await client.get("/api/products", params={"mine": "true"}, headers=seller.headers)
    assert mine.json()["total"] == 0


async def test_patch_refuses_repeated_images(
    client: httpx.AsyncClient, company: Any, create_product: Any
) -> None:
    seller: Company = company()
    product = await create_product(seller)
    url = "https://cdn.example.com/tela.jpg"
    resp = await client.patch(f"/api/products/{product['id']}", json={"images": [url, url]},
                              headers=seller.headers)
    assert resp.status_code == 422, resp.text
    assert "images" in {e["field"] for e in resp.json()["errors"]}


async def test_price_bounds_beyond_the_column_still_filter(
    client: httpx.AsyncClient, company: Any, create_product: Any
) -> None:
    # price is NUMERIC(10,2); a bound of 10^8 or more used to overflow in PostgreSQL.
    seller: Company = company()
    await create_product(seller, price="99999999.99")
    viewer: Company = company()
    for params, total in [({"max_price": "9999999999999"}, 1), ({"min_price": "100000000"}, 0),
                          ({"min_price": "99999999.99", "max_price": "100000000.00"}, 1)]:
        resp = await client.get("/api/products", params=params, headers=viewer.headers)
        assert resp.status_code == 200, (params, resp.text)
        assert resp.json()["total"] == total, params


async def test_unknown_or_inactive_taxonomy_is_422(
    client: httpx.AsyncClient, company: Any, taxonomy: Taxonomy,
    service_headers: dict[str, str],
) -> None:
    seller: Company = company()
    resp = await client.post(
        "/api/products",
        json=product_body(taxonomy, category_id="00000000-0000-0000-0000-000000000000"),
        headers=seller.headers)
    assert resp.status_code == 422
    assert resp.json()["code"] == "invalid_category"
    off = await client.patch(f"/api/brands/{taxonomy.brand_id}", json={"is_active": False},
                             headers=service_headers)
    assert off.status_code == 200
    resp = await client.post("/api/products", json=product_body(taxonomy), headers=seller.headers)
    assert resp.status_code == 422
    assert resp.json()["code"] == "invalid_brand"


async def test_patch_and_delete(
    client: httpx.AsyncClient, company: Any, create_product: Any, taxonomy: Taxonomy
) -> None:
    seller: Company = company()
    product = await create_product(seller)
    resp = await client.patch(
        f"/api/products/{product['id']}",
        json={"price": "199.90", "stock_quantity": 3, "brand_id": taxonomy.other_brand_id,
              "description": None},
        headers=seller.headers)
    assert resp.status_code == 200, resp.text
    data = resp.json()
    assert (data["price"], data["stock_quantity"], data["brand"]["name"], data["description"]) \
        == ("199.90", 3, "Samsung", None)
    assert data["code"] == product["code"]

    resp = await client.patch(f"/api/products/{product['id']}", json={"name": None},
                              headers=seller.headers)
    assert resp.status_code == 422

    resp = await client.delete(f"/api/products/{product['id']}", headers=seller.headers)
    assert resp.status_code == 204
    mine = await client.get("/api/products", params={"mine": "true"}, headers=seller.headers)
    assert [p["is_active"] for p in mine.json()["items"]] == [False]
    market = await client.get("/api/products", headers=company().headers)
    assert market.json()["total"] == 0


async def test_marketplace_filters_sort_and_pages(
    client: httpx.AsyncClient, company: Any, create_product: Any, taxonomy: Taxonomy
) -> None:
    a: Company = company()
    b: Company = company()
    viewer: Company = company()
    await create_product(a, name="Tela iPhone 11", price="300.00", stock_quantity=5)
    await create_product(a, name="Bateria iPhone 11", price="120.00", stock_quantity=0,
                         category_id=taxonomy.other_category_id)
    await create_product(b, name="Tela Galaxy A12", price="180.00", stock_quantity=2,
                         brand_id=taxonomy.other_brand_id, description="Display original")
    hidden = await create_product(b, name="Tela Galaxy S20", price="900.00")
    await client.delete(f"/api/products/{hidden['id']}", headers=b.headers)

    async def names(**params: Any) -> list[str]:
        resp = await client.get("/api/products", params=params, headers=viewer.headers)
        assert resp.status_code == 200, resp.text
        return [p["name"] for p in resp.json()["items"]]

    assert sorted(await names()) == ["Bateria iPhone 11", "Tela Galaxy A12", "Tela iPhone 11"]
    assert await names(q="telas", sort="price_asc") == ["Tela Galaxy A12", "Tela iPhone 11"]
    assert await names(q="original") == ["Tela Galaxy A12"]
    assert await names(q="50%") == []
    assert await names(category_id=taxonomy.other_category_id) == ["Bateria iPhone 11"]
    assert await names(brand_id=taxonomy.other_brand_id) == ["Tela Galaxy A12"]
    assert await names(min_price="150", max_price="300.00", sort="price_desc") == [
        "Tela iPhone 11", "Tela Galaxy A12"]
    assert await names(in_stock="true", sort="name") == ["Tela Galaxy A12", "Tela iPhone 11"]
    assert await names(in_stock="false") == ["Bateria iPhone 11"]

    page1 = (await client.get("/api/products", params={"sort": "price_asc", "page_size": 2},
                              headers=viewer.headers)).json()
    page2 = (await client.get("/api/products",
                              params={"sort": "price_asc", "page_size": 2, "page": 2},
                              headers=viewer.headers)).json()
    assert page1["total"] == page2["total"] == 3
    assert [p["price"] for p in page1["items"] + page2["items"]] == ["120.00", "180.00", "300.00"]

    for bad in ({"page_size": 101}, {"page": 0}, {"min_price": "abc"},
                {"min_price": "10", "max_price": "5"}, {"sort": "random"}):
        resp = await client.get("/api/products", params=bad, headers=viewer.headers)
        assert resp.status_code == 422, bad


async def test_module_must_be_enabled(client: httpx.AsyncClient, company: Any) -> None:
    outsider: Company = company(modules=("Lucrum",))
    resp = await client.get("/api/products", headers=outsider.headers)
    assert resp.status_code == 403
    assert resp.json()["code"] == "module_not_enabled"
    resp = await client.get("/api/products")
    assert resp.status_code == 401


# -- plan limits -------------------------------------------------------------------------------


async def test_product_limit_at_the_boundary(
    client: httpx.AsyncClient, company: Any, create_product: Any, taxonomy: Taxonomy
) -> None:
    seller: Company = company(max_products=3, plan_name="Lojista")
    products = [await create_product(seller) for _ in range(3)]
    resp = await client.post("/api/products", json=product_body(taxonomy), headers=seller.headers)
    assert resp.status_code == 403
    body = resp.json()
    assert body["code"] == "plan_limit_reached"
    assert (body["limit"], body["allowed"], body["used"], body["plan"]) == (
        "max_products", 3, 3, "Lojista")
    assert "Lojista" in body["detail"] and "3" in body["detail"]

    # Inactive products do not count; putting one back on sale counts again.
    await client.delete(f"/api/products/{products[0]['id']}", headers=seller.headers)
    await create_product(seller)
    resp = await client.patch(f"/api/products/{products[0]['id']}", json={"is_active": True},
                              headers=seller.headers)
    assert resp.status_code == 403
    assert resp.json()["code"] == "plan_limit_reached"


async def test_concurrent_creates_at_the_limit_let_exactly_one_through(
    client: httpx.AsyncClient, company: Any, create_product: Any, taxonomy: Taxonomy
) -> None:
    for _ in range(3):
        seller: Company = company(max_products=5)
        for _ in range(4):
            await create_product(seller)
        results = await asyncio.gather(*[
            client.post("/api/products", json=product_body(taxonomy), headers=seller.headers)
            for _ in range(10)
        ])
        statuses = sorted(r.status_code for r in results)
        assert statuses == [201] + [403] * 9, [r.text for r in results if r.status_code >= 500]
        mine = await client.get("/api/products", params={"mine": "true", "page_size": 100},
                                headers=seller.headers)
        assert mine.json()["total"] == 5


async def test_downgrade_event_takes_effect_at_once(
    client: httpx.AsyncClient, company: Any, create_product: Any, taxonomy: Taxonomy,
    apply_event: Any,
) -> None:
    seller: Company = company(max_products=10, plan_name="Empresa")
    for _ in range(3):
        await create_product(seller)
    # AvAdmin's (cached) answer still says 10: only the event knows about the downgrade.
    await apply_event("account.plan_changed", {
        "account_id": str(seller.account_id),
        "plan": {"id": None, "name": "Lojista", "max_products": 3, "max_users": 1,
                 "max_transactions": 100, "features": []},
    })
    resp = await client.post("/api/products", json=product_body(taxonomy), headers=seller.headers)
    assert resp.status_code == 403
    assert resp.json()["plan"] == "Lojista"
    assert (resp.json()["limit"], resp.json()["allowed"]) == ("max_products", 3)


async def test_writes_need_avadmin_but_the_marketplace_does_not(
    client: httpx.AsyncClient, company: Any, create_product: Any, taxonomy: Taxonomy,
    fake_avadmin: TestAvAdmin,
) -> None:
    seller: Company = company()
    buyer: Company = company()
    product = await create_product(seller)
    fake_avadmin.down = "writes"
    calls_before = len(fake_avadmin.calls)
    for path in ("/api/products", f"/api/products/{product['id']}",
                 f"/api/products/by-code/{product['code']}", "/api/categories"):
        resp = await client.get(path, headers=buyer.headers)
        assert resp.status_code == 200, (path, resp.text)
    # Reads never ask AvAdmin for write-fresh data; what they read comes from the (warm) cache.
    assert all(kind in ("standing", "account") for kind, _ in fake_avadmin.calls[calls_before:])
    resp = await client.post("/api/products", json=product_body(taxonomy), headers=seller.headers)
    assert resp.status_code == 503
    assert "Retry-After" in resp.headers


def test_the_price_pattern_in_the_openapi_is_the_validator_s_rule() -> None:
    import re

    from pydantic import TypeAdapter

    from stocktech.products.schemas import Price

    adapter = TypeAdapter(Price)
    pattern = adapter.json_schema()["pattern"]
    for text in ("0", "0.00", "+1.00", " 1.00 ", "1.00", "0.01", "99999999.99", "100000000"):
        try:
            adapter.validate_python(text)
            valid = True
        except ValueError:
            valid = False
        assert valid == bool(re.fullmatch(pattern, text)), text
