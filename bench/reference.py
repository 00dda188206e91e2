"""The bare-stack reference of `make bench`: Starlette + asyncpg + redis-py, no ORM, no
dependency injection, no middleware, serving the same rows from the same databases as the
modules. It is the speed limit of our own stack on this machine: the project's figure for a path
divided by this app's figure for the same path is the ratio `make bench` prints.

It answers the same questions with the minimum work the data model allows (one statement per
read, the conditional UPDATE for a purchase), and checks nothing (no token, no access rules).

Run by bench/run.py: ``uvicorn bench.reference:app`` with BENCH_REF_AVADMIN_DSN,
BENCH_REF_STOCKTECH_DSN, BENCH_REF_LUCRUM_DSN, BENCH_REF_REDIS_URL in the environment.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import uuid
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from typing import Any

import asyncpg
import redis.asyncio as aioredis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from avelar_kit.br.codes import ENTRY_CODES, PRODUCT_CODES

POOL = int(os.environ.get("BENCH_REF_POOL", "20"))
PAGE = 50
TOTAL_BOUND = 1000


def _default(value: Any) -> Any:
    if isinstance(value, uuid.UUID | Decimal | date):
        return str(value)
    raise TypeError(type(value).__name__)


def respond(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, default=_default), status_code=status,
                    media_type="application/json")


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    env = os.environ
    # Connections idle for a second are closed: the three pools, the modules' and pgbench's
    # 50 clients fit a PostgreSQL left at its default max_connections = 100.
    pools = {name: await asyncpg.create_pool(env[f"BENCH_REF_{name.upper()}_DSN"], min_size=1,
                                             max_size=POOL, max_inactive_connection_lifetime=1.0)
             for name in ("avadmin", "stocktech", "lucrum")}
    app.state.avadmin, app.state.stocktech, app.state.lucrum = pools.values()
    app.state.redis = aioredis.Redis.from_url(env["BENCH_REF_REDIS_URL"])
    async with app.state.stocktech.acquire() as conn:
        stored = await conn.fetchval(
            "SELECT count(*) FROM information_schema.columns "
            "WHERE table_name = 'products' AND column_name = 'search_vector'")
    # The stored column when the schema has one, else the expression of the expression index.
    app.state.vector = ("p.search_vector" if stored else
                        "to_tsvector('portuguese'::regconfig, "
                        "(p.name::text || ' '::text) || COALESCE(p.description, ''::text))")
    yield
    await app.state.redis.aclose()
    for pool in (app.state.avadmin, app.state.stocktech, app.state.lucrum):
        await pool.close()


async def noop(request: Request) -> Response:
    return JSONResponse({"ok": True})


async def health(request: Request) -> Response:
    async with request.app.state.avadmin.acquire() as conn:
        await conn.fetchval("SELECT 1")
    await request.app.state.redis.ping()
    return JSONResponse({"status": "healthy"})


async def user(request: Request) -> Response:
    row = await request.app.state.avadmin.fetchrow(
        "SELECT id, account_id, full_name, cpf, whatsapp, role::text, is_active, "
        "sessions_valid_after FROM users WHERE id = $1",
        uuid.UUID(request.path_params["id"]))
    if row is None:
        return respond({"code": "not_found"}, 404)
    return respond({k: (v.isoformat() if hasattr(v, "isoformat") and not isinstance(v, date)
                        else v) for k, v in dict(row).items()})


_PRODUCT_COLS = ("p.id, p.code, p.name, p.description, p.price, p.stock_quantity, p.images, "
                 "p.specifications, p.is_active, p.created_at, p.account_id, "
                 "s.company_name, c.name AS category, b.name AS brand")
_PRODUCT_JOIN = ("products p JOIN known_accounts s ON s.account_id = p.account_id "
                 "JOIN categories c ON c.id = p.category_id JOIN brands b ON b.id = p.brand_id")


def _product(row: asyncpg.Record) -> dict[str, Any]:
    out = dict(row)
    out["created_at"] = out["created_at"].isoformat()
    return out


async def search(request: Request) -> Response:
    """The same plan StockTech uses (a prefix query is estimated alike for every word): the
    newest 5,000 products walked newest first until 1,001 matches (the test hidden from the GIN
    index in ``coalesce``), the page and that count in one statement; a word too rare to fill
    the page there comes from the GIN index, materialised, with its count. Raw SQL, no ORM."""
    q = request.query_params.get("q", "")
    vector = request.app.state.vector
    match = f"{vector} @@ to_tsquery('portuguese', $1 || ':*')"
    where = f"p.is_active AND s.status = 'active' AND {match}"
    walk = f"p.is_active AND s.status = 'active' AND coalesce({match}, false)"
    pool = request.app.state.stocktech
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            f"WITH walked AS (SELECT p.id, p.created_at FROM products p JOIN known_accounts s "
            f"ON s.account_id = p.account_id WHERE {walk} AND p.created_at >= "
            "COALESCE((SELECT created_at FROM products WHERE is_active ORDER BY created_at DESC "
            "OFFSET 4999 LIMIT 1), '-infinity') "
            f"ORDER BY p.created_at DESC, p.id LIMIT {TOTAL_BOUND + 1}), "
            f"page AS (SELECT id FROM walked ORDER BY created_at DESC, id LIMIT {PAGE}) "
            f"SELECT {_PRODUCT_COLS}, (SELECT count(*) FROM walked) AS total "
            f"FROM {_PRODUCT_JOIN} JOIN page ON page.id = p.id "
            "ORDER BY p.created_at DESC, p.id", q)
        if len(rows) == PAGE:
            total = rows[0]["total"]
            if total <= TOTAL_BOUND:
                total = await conn.fetchval(
                    f"SELECT count(*) FROM (SELECT 1 FROM products p JOIN known_accounts s "
                    f"ON s.account_id = p.account_id WHERE {where} LIMIT {TOTAL_BOUND + 1}) t", q)
        else:
            rows = await conn.fetch(
                f"WITH hits AS MATERIALIZED (SELECT p.id, p.created_at FROM products p "
                f"JOIN known_accounts s ON s.account_id = p.account_id WHERE {where}), "
                f"page AS (SELECT id FROM hits ORDER BY created_at DESC, id LIMIT {PAGE}) "
                f"SELECT {_PRODUCT_COLS}, (SELECT count(*) FROM hits) AS total "
                f"FROM {_PRODUCT_JOIN} JOIN page ON page.id = p.id "
                "ORDER BY p.created_at DESC, p.id", q)
            total = rows[0]["total"] if rows else 0
    items = [_product(r) for r in rows]
    for item in items:
        item.pop("total", None)
    return respond({"items": items, "total": min(total, TOTAL_BOUND)})


async def product(request: Request) -> Response:
    row = await request.app.state.stocktech.fetchrow(
        f"SELECT {_PRODUCT_COLS} FROM {_PRODUCT_JOIN} WHERE p.id = $1",
        uuid.UUID(request.path_params["id"]))
    if row is None:
        return respond({"code": "not_found"}, 404)
    return respond(_product(row))


async def create_product(request: Request) -> Response:
    body = await request.json()
    for _ in range(5):  # a random code may be taken: draw again, as StockTech does
        try:
            row = await request.app.state.stocktech.fetchrow(
                "INSERT INTO products (account_id, user_id, code, name, description, "
                "category_id, brand_id, price, stock_quantity) VALUES ($1, $2, $3, $4, $5, $6, "
                "$7, $8, $9) RETURNING id, code, name, price, stock_quantity, created_at",
                uuid.UUID(body["account_id"]), uuid.UUID(body["user_id"]),
                PRODUCT_CODES.make(random.randrange(10**6)), body["name"],
                body.get("description"), uuid.UUID(body["category_id"]),
                uuid.UUID(body["brand_id"]), Decimal(body["price"]),
                int(body["stock_quantity"]))
        except asyncpg.UniqueViolationError:
            continue
        return respond(_product(row), 201)
    return respond({"code": "code_taken"}, 409)


async def purchase(request: Request) -> Response:
    body = await request.json()
    row = await request.app.state.stocktech.fetchrow(
        "UPDATE products SET stock_quantity = stock_quantity - $2 "
        "WHERE id = $1 AND stock_quantity >= $2 RETURNING stock_quantity",
        uuid.UUID(body["product_id"]), int(body.get("quantity", 1)))
    if row is None:
        return respond({"code": "insufficient_stock"}, 409)
    return respond({"stock_quantity": row[0]}, 201)


async def cash_flow(request: Request) -> Response:
    qp = request.query_params
    rows = await request.app.state.lucrum.fetch(
        "SELECT date_trunc('month', transaction_date)::date AS month, "
        "sum(amount) FILTER (WHERE type = 'income') AS income, "
        "sum(amount) FILTER (WHERE type = 'expense') AS expense "
        "FROM financial_transactions WHERE account_id = $1 AND transaction_date BETWEEN $2 AND $3 "
        "AND type IN ('income', 'expense') GROUP BY 1 ORDER BY 1",
        uuid.UUID(qp["account_id"]), date.fromisoformat(qp["from"]), date.fromisoformat(qp["to"]))
    return respond([dict(r) for r in rows])


def _ledger_code() -> str:
    return ENTRY_CODES.make(random.randrange(10**8))


async def post_ledger(request: Request) -> Response:
    body = await request.json()
    amount = Decimal(body["amount"])
    for _ in range(3):  # a random code may be taken: try another, as Lucrum does
        try:
            async with request.app.state.lucrum.acquire() as conn, conn.transaction():
                row = await conn.fetchrow(
                    "INSERT INTO financial_transactions (account_id, bank_account_id, code, "
                    "description, amount, type, transaction_date) VALUES ($1, $2, $3, $4, $5, "
                    "'income', current_date) RETURNING id, code, amount, transaction_date",
                    uuid.UUID(body["account_id"]), uuid.UUID(body["bank_account_id"]),
                    _ledger_code(), body["description"], amount)
                await conn.execute(
                    "UPDATE bank_accounts SET balance = balance + $2 WHERE id = $1",
                    uuid.UUID(body["bank_account_id"]), amount)
            return respond(dict(row), 201)
        except asyncpg.UniqueViolationError:
            continue
    return respond({"code": "code_taken"}, 409)


app = Starlette(
    routes=[
        Route("/noop", noop),
        Route("/health", health),
        Route("/users/{id}", user),
        Route("/search", search),
        Route("/products/{id}", product),
        Route("/products", create_product, methods=["POST"]),
        Route("/purchase", purchase, methods=["POST"]),
        Route("/cash-flow", cash_flow),
        Route("/ledger", post_ledger, methods=["POST"]),
    ],
    lifespan=lifespan,
)
