from __future__ import annotations

import asyncio
import random
import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from lucrum.transactions.codes import (
    check_letter,
    is_valid_code,
    make_code,
    normalize_code,
    random_code,
)


def test_code_format_and_check_letter() -> None:
    # The kit's one scheme: 12345678 % 23 = 14 -> "Q" (ABCDEFGHJKLMNPQRSTVWXYZ)
    assert make_code(12345678) == "LC12345678Q"
    assert make_code(0) == "LC00000000A"
    for _ in range(200):
        code = random_code()
        assert re.fullmatch(r"LC[0-9]{8}[A-Z]", code)
        assert is_valid_code(code)


def test_check_letter_catches_single_digit_errors_and_adjacent_swaps() -> None:
    rng = random.Random(7)
    for _ in range(300):
        digits = f"{rng.randrange(10**8):08d}"
        letter = check_letter(digits)
        for i in range(8):
            for d in "0123456789":
                if d != digits[i]:
                    typo = digits[:i] + d + digits[i + 1:]
                    assert check_letter(typo) != letter
        for i in range(7):
            if digits[i] != digits[i + 1]:
                swapped = digits[:i] + digits[i + 1] + digits[i] + digits[i + 2:]
                assert check_letter(swapped) != letter


def test_normalize_accepts_typed_forms_and_refuses_bad_ones() -> None:
    assert normalize_code("lc 1234.5678-q") == "LC12345678Q"
    bad_codes = ("LC12345678A", "LC1234567A", "XX12345678A", "LC123456789A", "",
                 "LC１２３４５６７８A")
    for bad in bad_codes:
        with pytest.raises(ValueError, match="código inválido"):
            normalize_code(bad)


async def test_lookup_by_code_validates_the_check_letter(
    client: httpx.AsyncClient, company: Any, api: Any
) -> None:
    acc = await api.bank_account(company)
    tx = await api.post_tx(company, acc["id"], "12.34")
    typed = tx["code"].lower()[:2] + " " + tx["code"][2:6] + "-" + tx["code"][6:].lower()
    resp = await client.get(f"/api/financial-transactions/by-code/{typed}",
                            headers=company.headers)
    assert resp.status_code == 200
    assert resp.json()["id"] == tx["id"]
    wrong = tx["code"][:-1] + ("A" if tx["code"][-1] != "A" else "B")
    resp = await client.get(f"/api/financial-transactions/by-code/{wrong}",
                            headers=company.headers)
    assert resp.status_code == 422
    assert resp.json()["code"] == "invalid_code"


async def test_codes_unique_under_concurrency_with_collisions_retried(
    app: FastAPI, client: httpx.AsyncClient, company: Any, api: Any
) -> None:
    """A code space squeezed to 300 values makes 100 concurrent creates collide often; every
    one must still succeed with a distinct code (the unique constraint arbitrates, the
    savepoint retry picks a new code)."""
    acc = await api.bank_account(company)
    calls = 0
    rng = random.Random(42)

    def squeezed() -> str:
        nonlocal calls
        calls += 1
        return make_code(rng.randrange(300))

    app.state.code_generator = squeezed
    results = await asyncio.gather(*[
        client.post("/api/financial-transactions", headers=company.headers, json={
            "bank_account_id": acc["id"], "description": f"Concorrente {i}",
            "amount": "1.00", "type": "income"})
        for i in range(100)
    ])
    assert [r.status_code for r in results] == [201] * 100
    codes = [r.json()["code"] for r in results]
    assert len(set(codes)) == 100
    assert all(is_valid_code(c) for c in codes)
    assert calls > 100, "the squeezed space should have forced retries"
    print(f"\n100 concurrent creates in a 300-code space: {calls} codes drawn "
          f"({calls - 100} collisions retried)")
    assert await api.balance(company, acc["id"]) == "100.00"
