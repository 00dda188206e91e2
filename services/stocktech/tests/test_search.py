"""Marketplace search: word prefixes on the stored vector, codes, and a bounded ``total``."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import event, text

from avelar_kit.db.tenancy import act_as_system, act_for_company
from avelar_kit.expiring import ExpiringLRU
from stocktech.products import repository
from stocktech.products.repository import prefix_tsquery

from .conftest import Company


@pytest.fixture(autouse=True)
def _fresh_search_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """The window's start and the short windows are the process's: each test starts without."""
    monkeypatch.setattr(repository, "_window_start", (float("-inf"), 0, None))
    monkeypatch.setattr(repository, "_short_windows",
                        ExpiringLRU(repository.SHORT_WINDOW_ENTRIES, clock=time.monotonic))


async def test_word_prefixes_codes_and_hostile_input(
    client: httpx.AsyncClient, company: Any, create_product: Any
) -> None:
    seller: Company = company()
    viewer: Company = company()
    iphone = await create_product(seller, name="Tela iPhone 11 Incell",
                                  description="Display capacitivo")
    galaxy = await create_product(seller, name="Bateria Galaxy A12", description=None)

    async def ids(q: str) -> list[str]:
        resp = await client.get("/api/products", params={"q": q}, headers=viewer.headers)
        assert resp.status_code == 200, resp.text
        return [p["id"] for p in resp.json()["items"]]

    assert await ids("ipho") == [iphone["id"]]          # the beginning of a word
    assert await ids("tela ipho") == [iphone["id"]]     # every word required
    assert await ids("tela galaxy") == []
    assert await ids("capacitivo") == [iphone["id"]]    # the description
    assert await ids("baterias") == [galaxy["id"]]      # Portuguese stemming
    assert await ids(galaxy["code"].lower()) == [galaxy["id"]]
    assert galaxy["id"] in await ids(galaxy["code"][:6])  # the start of a code
    for hostile in ("'", "a & | !", "tela:*", "\\", "%_", "((", "de"):
        resp = await client.get("/api/products", params={"q": hostile}, headers=viewer.headers)
        assert resp.status_code == 200, (hostile, resp.text)


def test_prefix_tsquery_quotes_only_words() -> None:
    assert prefix_tsquery("Tela  iPho!") == "'tela':* & 'ipho':*"
    assert prefix_tsquery("'); DROP TABLE products; --") == (
        "'drop':* & 'table':* & 'products':*")
    assert prefix_tsquery("&|!:*") is None


async def test_total_is_exact_up_to_the_bound_then_says_so(
    client: httpx.AsyncClient, company: Any, create_product: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    seller: Company = company()
    viewer: Company = company()
    for i in range(5):
        await create_product(seller, name=f"Cabo USB-C {i}")
    monkeypatch.setattr(repository, "TOTAL_BOUND", 3)

    async def page(**params: Any) -> dict[str, Any]:
        resp = await client.get("/api/products", params=params, headers=viewer.headers)
        assert resp.status_code == 200, resp.text
        data: dict[str, Any] = resp.json()
        return data

    over = await page(q="cabo", page_size=2)
    assert (over["total"], over["total_exact"], len(over["items"])) == (3, False, 2)
    # Past the bound the pages still come.
    last = await page(q="cabo", page_size=2, page=3)
    assert len(last["items"]) == 1 and last["total_exact"] is False
    under = await page(q="cabo 4")
    assert (under["total"], under["total_exact"]) == (1, True)
    monkeypatch.setattr(repository, "TOTAL_BOUND", 5)
    exact = await page(q="cabo", page_size=2)
    assert (exact["total"], exact["total_exact"]) == (5, True)


async def test_the_vector_is_stored_and_follows_updates(
    client: httpx.AsyncClient, company: Any, create_product: Any, app: Any
) -> None:
    seller: Company = company()
    product = await create_product(seller, name="Flex Power Moto G8")
    resp = await client.patch(f"/api/products/{product['id']}",
                              json={"name": "Alto-falante Moto G20"}, headers=seller.headers)
    assert resp.status_code == 200, resp.text
    async with app.state.db.sessionmaker() as s:
        await act_as_system(s)  # the test looks at every company's rows
        vector = await s.scalar(text("SELECT search_vector::text FROM products WHERE id = :id"),
                                {"id": product["id"]})
        indexes = set((await s.execute(text(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'products'"))).scalars())
    assert vector is not None and "falant" in vector and "flex" not in vector
    assert {"ix_products_search_vector", "ix_products_code_prefix"} <= indexes


async def test_a_word_missing_from_the_newest_products_is_found_through_the_index(
    client: httpx.AsyncClient, company: Any, create_product: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    seller: Company = company()
    viewer: Company = company()
    cables = [await create_product(seller, name=f"Cabo USB-C {i}") for i in range(5)]
    for i in range(3):
        await create_product(seller, name=f"Película 3D {i}")

    async def page(**params: Any) -> dict[str, Any]:
        resp = await client.get("/api/products", params=params, headers=viewer.headers)
        assert resp.status_code == 200, resp.text
        data: dict[str, Any] = resp.json()
        return data

    newest_first = [c["id"] for c in reversed(cables)]
    expected = [await page(q="cabo", page_size=2, page=n) for n in (1, 2, 3)]
    assert [p["id"] for e in expected for p in e["items"]] == newest_first
    # The three newest products have no "cabo": every page comes from the GIN path.
    monkeypatch.setattr(repository, "RECENT_WINDOW", 3)
    for n, want in zip((1, 2, 3), expected, strict=True):
        got = await page(q="cabo", page_size=2, page=n)
        assert [p["id"] for p in got["items"]] == [p["id"] for p in want["items"]]
        assert (got["total"], got["total_exact"]) == (5, True)
    assert (await page(q="cabo", page=9))["items"] == []


async def test_the_window_start_is_reused_and_any_start_gives_the_same_pages(
    client: httpx.AsyncClient, company: Any, create_product: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The newest-first window's start is read once per WINDOW_START_TTL_S per process; a start
    that is stale either way (far past: the whole table; far future: an empty window, the GIN
    path) gives the same pages and totals."""
    seller: Company = company()
    viewer: Company = company()
    for i in range(5):
        await create_product(seller, name=f"Cabo USB-C {i}")
        await create_product(seller, name=f"Película 3D {i}")
    monkeypatch.setattr(repository, "RECENT_WINDOW", 4)
    monkeypatch.setattr(repository, "_window_start", (float("-inf"), 0, None))
    monkeypatch.setattr(repository, "SHORT_WINDOW_TTL_S", 0.0)  # every page walks the window

    async def pages() -> list[Any]:
        got = []
        for n in (1, 2, 3):
            resp = await client.get("/api/products", params={"q": "cabo", "page_size": 2,
                                                              "page": n}, headers=viewer.headers)
            assert resp.status_code == 200, resp.text
            data = resp.json()
            got.append(([p["id"] for p in data["items"]], data["total"], data["total_exact"]))
        return got

    want = await pages()
    read_at, window, start = repository._window_start
    assert window == 4 and start is not None
    assert await pages() == want
    assert repository._window_start[0] == read_at  # reused, not read again
    assert [len(ids) for ids, _, _ in want] == [2, 2, 1] and want[0][1:] == (5, True)
    for stale in (datetime(1970, 1, 1, tzinfo=UTC), datetime(2999, 1, 1, tzinfo=UTC)):
        monkeypatch.setattr(repository, "_window_start", (time.monotonic(), 4, stale))
        assert await pages() == want, stale
    monkeypatch.setattr(repository, "_window_start", (time.monotonic() - 11, 4, None))
    assert await pages() == want
    assert repository._window_start[2] == start  # read again once the reuse ran out


async def test_a_page_item_is_the_product_answer_byte_for_byte(
    client: httpx.AsyncClient, company: Any, create_product: Any
) -> None:
    """The listing serialises its rows itself (no ProductOut per row): each item must be what
    GET /api/products/{id} (through ProductOut) answers, for the owner and for another company,
    on every listing path (plain page, text search's window and GIN paths)."""
    seller: Company = company()
    viewer: Company = company()
    made = [
        await create_product(seller, name="Conector Tipo C Moto", description=None, price="7",
                             images=["https://img.example/a.png"],
                             specifications={"cor": "preto", "peso_g": 1.5, "n": [1, 2]}),
        await create_product(seller, name="Conector Lightning", description="Ótimo é ção",
                             price="1234.50", stock_quantity=0),
    ]
    for who in (seller, viewer):
        for params in ({}, {"q": "conector"}, {"q": "conector", "page_size": 1, "page": 2},
                       {"sort": "price_asc"}, {"mine": "true"} if who is seller else {}):
            resp = await client.get("/api/products", params=params, headers=who.headers)
            assert resp.status_code == 200, resp.text
            assert resp.headers["content-type"] == "application/json"
            for item in resp.json()["items"]:
                one = await client.get(f"/api/products/{item['id']}", headers=who.headers)
                assert one.status_code == 200, one.text
                assert item == one.json(), params
                assert list(item) == list(one.json())
    page = (await client.get("/api/products", params={"q": "conector"},
                             headers=viewer.headers)).json()
    assert {p["id"] for p in page["items"]} == {m["id"] for m in made}
    assert list(page) == ["items", "total", "total_exact", "page", "page_size"]
    assert page["items"][0]["user_id"] is None


async def test_as_the_app_role_with_a_company_the_search_stays_on_its_indexes(
    app: Any, company: Any
) -> None:
    """Row-level security evaluates a query's non-LEAKPROOF conditions after its policies, so
    without migration 0007 a search was a scan of every product (467 ms for a rare word over
    100,000 products in `make bench` as the app role). With sequential scans off, a plan that
    could use the index does: the service's own role and a company's context."""
    viewer: Company = company()
    async with app.state.db.sessionmaker() as s, s.begin():
        await act_for_company(s, viewer.account_id)
        await s.execute(text("SET LOCAL enable_seqscan = off"))
        words = "\n".join((await s.execute(text(
            "EXPLAIN SELECT id FROM products "
            "WHERE search_vector @@ to_tsquery('simple', 'zirconit:*')"))).scalars())
        codes = "\n".join((await s.execute(text(
            "EXPLAIN SELECT id FROM products WHERE code LIKE 'ST12%'"))).scalars())
    assert "ix_products_search_vector" in words, words
    assert "ix_products_code_prefix" in codes, codes


async def test_a_search_whose_window_came_up_short_starts_at_the_index_with_the_same_page(
    app: Any, client: httpx.AsyncClient, company: Any, create_product: Any,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rare word's window walk found less than a page: for SHORT_WINDOW_TTL_S the same search
    skips it (one statement fewer, the same page and total); once the entry expires the window
    is walked again. A word that became common meanwhile is still answered right."""
    seller: Company = company()
    viewer: Company = company()
    [await create_product(seller, name=f"Cabo USB-C {i}") for i in range(3)]
    for i in range(3):
        await create_product(seller, name=f"Película 3D {i}")
    monkeypatch.setattr(repository, "RECENT_WINDOW", 3)
    now = [0.0]
    monkeypatch.setattr(repository, "_short_windows",
                        ExpiringLRU(repository.SHORT_WINDOW_ENTRIES, clock=lambda: now[0]))
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM products" in statement:
            statements.append(statement)

    async def search() -> tuple[list[str], int, bool, int]:
        statements.clear()
        resp = await client.get("/api/products", params={"q": "cabo", "page_size": 2},
                                headers=viewer.headers)
        assert resp.status_code == 200, resp.text
        data = resp.json()
        return [p["id"] for p in data["items"]], data["total"], data["total_exact"], len(
            statements)

    engine = app.state.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        first = await search()
        again = await search()
        assert again[:3] == first[:3] and first[1:3] == (3, True)
        # The window's start, the walk, the index; then the index only.
        assert (first[3], again[3]) == (3, 1)
        # Expired: walked again (and remembered again).
        now[0] += repository.SHORT_WINDOW_TTL_S
        expired = await search()
        assert expired[:3] == first[:3] and expired[3] == 2  # the start is still reused
        # The word became common in the window: the index path still answers it whole.
        newer = [await create_product(seller, name=f"Cabo novo {i}") for i in range(3)]
        got = await search()
        assert got[0] == [newer[2]["id"], newer[1]["id"]] and got[1:3] == (6, True)
        # Past the bound from the index: forgotten, the next search walks the window again.
        monkeypatch.setattr(repository, "TOTAL_BOUND", 4)
        got = await search()
        assert got[1:3] == (4, False) and len(repository._short_windows) == 0
    finally:
        event.remove(engine, "before_cursor_execute", count)
