from __future__ import annotations

import asyncio
import uuid

import pytest
from fastapi import FastAPI
from sqlalchemy import text

from lucrum.cli import main


async def test_seed_then_check_balances(
    app: FastAPI, clean: None, lucrum_db_url: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The CLI runs its own event loop (asyncio.run), so it is driven from a thread."""
    monkeypatch.setenv("LUCRUM_DATABASE_URL", lucrum_db_url)
    company = str(uuid.uuid4())
    assert await asyncio.to_thread(main, ["seed", "--account-id", company]) == 0
    demo = f'[{{"account_id": "{company}", "user_id": "x", "company": "Demo"}}]'
    assert await asyncio.to_thread(main, ["seed", "--demo-accounts", demo]) == 0
    out = capsys.readouterr().out
    assert "demo accounts and entries for" in out and "already seeded: Demo" in out

    async with app.state.db.engine.connect() as conn:
        await conn.execute(text("SELECT set_config('avelar.system', 'on', true)"))
        accounts, entries, transfers, first, last, negative = (await conn.execute(text(
            "SELECT count(DISTINCT t.bank_account_id), count(*), "
            "count(*) FILTER (WHERE t.type = 'transfer_in'), "
            "min(t.transaction_date), max(t.transaction_date), "
            "(SELECT count(*) FROM bank_accounts b WHERE b.account_id = :c AND b.balance < 0) "
            "FROM financial_transactions t WHERE t.account_id = :c"), {"c": company})).one()
    assert accounts == 2 and entries > 60 and transfers >= 2
    assert (last - first).days > 60  # a few months of history
    assert negative == 0  # a healthy demo shop
    assert await asyncio.to_thread(main, ["check-balances"]) == 0
    assert "0 with drift" in capsys.readouterr().out

    async with app.state.db.engine.begin() as conn:
        await conn.execute(text("SELECT set_config('avelar.system', 'on', true)"))
        await conn.execute(text("UPDATE bank_accounts SET balance = balance - 1 "
                                "WHERE account_id = :c AND is_default"), {"c": company})
    assert await asyncio.to_thread(main, ["check-balances"]) == 1
    assert "DRIFT" in capsys.readouterr().out
