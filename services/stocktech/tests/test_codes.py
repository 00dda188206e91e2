from __future__ import annotations

import asyncio
import itertools
import random
import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from stocktech.products import codes

from .conftest import Company, Taxonomy, product_body

CODE_FORMAT = re.compile(r"^ST[0-9]{6}[A-Z]$")


def test_check_letter_examples() -> None:
    assert codes.make_code(0) == "ST000000A"
    assert codes.make_code(1) == "ST000001B"
    assert codes.make_code(22) == "ST000022Z"
    assert codes.make_code(23) == "ST000023A"
    assert codes.make_code(123456) == "ST123456R"


def test_typos_never_give_another_valid_code() -> None:
    rng = random.Random(7)
    for number in rng.sample(range(10**6), 2000):
        digits = f"{number:06d}"
        code = codes.make_code(number)
        assert codes.is_valid_code(code)
        for i in range(6):
            for d in "0123456789":
                if d != digits[i]:
                    typo = digits[:i] + d + digits[i + 1:]
                    assert not codes.is_valid_code(f"ST{typo}{code[-1]}")
            if i < 5 and digits[i] != digits[i + 1]:
                swapped = digits[:i] + digits[i + 1] + digits[i] + digits[i + 2:]
                assert not codes.is_valid_code(f"ST{swapped}{code[-1]}")


@pytest.mark.parametrize("typed", ["st123456r", " ST-123456-R ", "ST 123456 R"])
def test_typed_codes_are_normalized(typed: str) -> None:
    assert codes.normalize_code(typed) == "ST123456R"


@pytest.mark.parametrize("typed", ["ST123456A", "ST12345R", "SX123456R", "ST1234567R",
                                   "ST12345AR", "", "ST１２３４５６R"])
def test_bad_codes_are_refused(typed: str) -> None:
    with pytest.raises(ValueError, match="código de produto inválido"):
        codes.normalize_code(typed)


async def test_database_refuses_a_wrong_check_letter(
    app: FastAPI, client: httpx.AsyncClient, company: Any, create_product: Any
) -> None:
    product = await create_product(company())
    for bad in ("ST123456A", "ST12345", "st123456r"):
        with pytest.raises(IntegrityError, match="ck_products_code_valid"):  # noqa: PT012
            async with app.state.db.engine.begin() as conn:
                await conn.execute(text("SELECT set_config('avelar.system', 'on', true)"))
                await conn.execute(text("UPDATE products SET code = :c WHERE id = :id"),
                                   {"c": bad, "id": product["id"]})


async def test_lookup_by_code_validates_what_was_typed(
    client: httpx.AsyncClient, company: Any
) -> None:
    viewer: Company = company()
    for bad in ("ST123456A", "XYZ", "ST12345678"):
        resp = await client.get(f"/api/products/by-code/{bad}", headers=viewer.headers)
        assert resp.status_code == 422
        assert resp.json()["code"] == "invalid_product_code"
    resp = await client.get("/api/products/by-code/ST123456R", headers=viewer.headers)
    assert resp.status_code == 404


async def test_concurrent_creates_never_collide(
    client: httpx.AsyncClient, company: Any, taxonomy: Taxonomy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every request first draws the same number: they meet on the unique index, and each loser
    must draw again (the taken code leaves the transaction usable) until all 20 have distinct
    codes."""
    draws = itertools.count()

    def colliding() -> int:
        n = next(draws)
        return 424242 if n < 20 else 100000 + n

    monkeypatch.setattr(codes, "random_number", colliding)
    sellers: list[Company] = [company() for _ in range(4)]
    results = await asyncio.gather(*[
        client.post("/api/products", json=product_body(taxonomy), headers=s.headers)
        for s in sellers for _ in range(5)
    ])
    assert [r.status_code for r in results] == [201] * 20, [r.text for r in results]
    created = [r.json()["code"] for r in results]
    assert len(set(created)) == 20
    assert all(CODE_FORMAT.match(c) and codes.is_valid_code(c) for c in created)
    assert codes.make_code(424242) in created
    assert next(draws) > 20  # collisions did happen and were retried
