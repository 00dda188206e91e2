"""Every query over products."""

from __future__ import annotations

import functools
import re
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Integer,
    Numeric,
    Select,
    String,
    bindparam,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import aliased

from avelar_kit.db.repository import RepositoryBase
from avelar_kit.expiring import ExpiringLRU
from stocktech.accounts.models import KnownAccount
from stocktech.catalog.models import Brand, Category
from stocktech.products.models import Product
from stocktech.products.schemas import ProductSort


@dataclass(frozen=True, slots=True)
class ProductView:
    product: Product
    company_name: str | None
    seller_status: str
    category_name: str | None
    brand_name: str | None

    @property
    def on_sale(self) -> bool:
        """Visible in the marketplace: active, from a company that is not suspended."""
        return self.product.is_active and self.seller_status == "active"


@dataclass(frozen=True, slots=True)
class ListingFilters:
    q: str | None = None
    category_id: uuid.UUID | None = None
    brand_id: uuid.UUID | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    in_stock: bool | None = None
    mine_of: uuid.UUID | None = None
    sort: ProductSort = ProductSort.newest


# ``total`` is counted exactly up to this many products; past it the count stops (it never
# walks the whole table) and the page says ``total_exact: false``.
TOTAL_BOUND = 1000
# A text search looks for its first pages among this many newest products first.
RECENT_WINDOW = 5000
# How long this process reuses the window's start (the created_at of the RECENT_WINDOW-th newest
# active product). Any start gives the same answers (an older one only widens the window, a
# newer one sends more words to the GIN path); reading it walks RECENT_WINDOW index entries
# under the policies, about 13 ms, more than the search itself.
WINDOW_START_TTL_S = 10.0
_window_start: tuple[float, int, Any] = (float("-inf"), 0, None)
# Searches whose window lately held less than their page (a rare word): for SHORT_WINDOW_TTL_S
# this process sends them straight to the GIN path, without walking the window first (for a
# rare word that walk was most of the search's cost in the database: 5,000 index entries tested
# for nothing). Only the cost depends on it: both paths give the same page and total, so a word
# that became common meanwhile is answered right, from the index, until its entry expires.
SHORT_WINDOW_TTL_S = 300.0
SHORT_WINDOW_ENTRIES = 1024
_short_windows: ExpiringLRU[tuple[Any, ...], bool] = ExpiringLRU(SHORT_WINDOW_ENTRIES,
                                                                 clock=time.monotonic)
_MAX_WORDS = 8
_WORD = re.compile(r"\w+")
_CODE_PREFIX = re.compile(r"ST[0-9]{1,6}[A-Z]?")

_seller = aliased(KnownAccount, name="seller")

# The listing runs as Core over the tables (no ORM entity is built for a page of 50 rows; the
# service turns each row straight into the page's JSON).
_p = Product.__table__
_s = KnownAccount.__table__.alias("seller")
_c = Category.__table__
_b = Brand.__table__
_ROW_COLUMNS = (
    _p.c.id, _p.c.code, _p.c.name, _p.c.description, _p.c.category_id,
    _c.c.name.label("category_name"), _p.c.brand_id, _b.c.name.label("brand_name"),
    _p.c.price, _p.c.stock_quantity, _p.c.images, _p.c.specifications, _p.c.is_active,
    _p.c.account_id, _s.c.company_name, _p.c.user_id, _p.c.created_at, _p.c.updated_at,
)


def prefix_tsquery(q: str) -> str | None:
    """Every word of ``q`` as a prefix, all required: ``tela ipho`` -> ``'tela':* & 'ipho':*``.

    Only word characters reach the query (quoted), so no input can be a tsquery syntax error;
    the Portuguese configuration stems each word (``telas`` finds ``Tela``) and drops stop
    words. None when ``q`` has no word at all."""
    words = _WORD.findall(q)[:_MAX_WORDS]
    if not words:
        return None
    return " & ".join(f"'{w.lower()}':*" for w in words)


def _listing_shape(filters: ListingFilters) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Which conditions ``filters`` make (the shape: a listing's statements are built once per
    shape and reused) and the values they are run with (named parameters)."""
    values: dict[str, Any] = {}
    words = code = False
    if filters.mine_of is not None:
        values["mine_of"] = filters.mine_of
    if filters.q:
        q = filters.q.strip()
        tsq = prefix_tsquery(q)
        if tsq is not None:
            values["tsq"], words = tsq, True
        prefix = re.sub(r"[\s.-]", "", q).upper()
        if _CODE_PREFIX.fullmatch(prefix):
            values["code_like"], code = f"{prefix}%", True
    for name in ("category_id", "brand_id", "min_price", "max_price"):
        if getattr(filters, name) is not None:
            values[name] = getattr(filters, name)
    shape = (filters.mine_of is not None, bool(filters.q), words, code,
             *(name in values for name in ("category_id", "brand_id", "min_price", "max_price")),
             filters.in_stock)
    return shape, values


def _search_condition(words: bool, code: bool, *, walk: bool = False) -> Any:
    """Words of the name or description (prefixes, GIN index on the stored vector), or a
    product code or code prefix (``ST1234``, ``st-123456-k``: index range scan)."""
    alternatives: list[Any] = []
    if words:
        alternatives.append(_p.c.search_vector.op("@@")(
            func.to_tsquery(literal_column("'portuguese'::regconfig"),
                            bindparam("tsq", type_=String()))))
    if code:
        alternatives.append(_p.c.code.like(bindparam("code_like", type_=String())))
    if not alternatives:
        return false()
    condition = or_(*alternatives)
    # ``walk``: the same test, hidden from the GIN index and from the planner's ~2 % estimate
    # (an expression it cannot read is estimated at one half), so that a statement that must
    # walk the newest-first index and stop after N matches does so instead of first collecting
    # every match of a common word from the GIN index (100,000 for "produto").
    return func.coalesce(condition, false()) if walk else condition


def _listing_conditions(shape: tuple[Any, ...], *, walk: bool = False) -> list[Any]:
    mine, searched, words, code, category, brand, min_price, max_price, in_stock = shape
    conditions: list[Any] = []
    if mine:
        conditions.append(_p.c.account_id == bindparam("mine_of", type_=_p.c.account_id.type))
    else:
        # The marketplace: the join to the local copy of AvAdmin's accounts hides suspended
        # companies without asking AvAdmin anything.
        conditions += [_p.c.is_active.is_(True), _s.c.status == "active"]
    if searched:
        conditions.append(_search_condition(words, code, walk=walk))
    if category:
        conditions.append(_p.c.category_id == bindparam("category_id",
                                                        type_=_p.c.category_id.type))
    if brand:
        conditions.append(_p.c.brand_id == bindparam("brand_id", type_=_p.c.brand_id.type))
    # Bound as plain NUMERIC: compared against the column, the parameter would be cast to
    # NUMERIC(10,2) and a bound above 99,999,999.99 would overflow instead of matching.
    if min_price:
        conditions.append(_p.c.price >= bindparam("min_price", type_=Numeric()))
    if max_price:
        conditions.append(_p.c.price <= bindparam("max_price", type_=Numeric()))
    if in_stock is True:
        conditions.append(_p.c.stock_quantity > 0)
    elif in_stock is False:
        conditions.append(_p.c.stock_quantity == 0)
    return conditions


_ORDERS: dict[ProductSort, Any] = {
    ProductSort.newest: _p.c.created_at.desc(),
    ProductSort.price_asc: _p.c.price.asc(),
    ProductSort.price_desc: _p.c.price.desc(),
    ProductSort.name: func.lower(_p.c.name).asc(),
}
_OFFSET = bindparam("offset", type_=Integer())
_LIMIT = bindparam("limit", type_=Integer())
_SHAPES = 512  # statements kept per builder: far more than the filters' combinations


def _from_seller() -> Any:
    return _p.join(_s, _s.c.account_id == _p.c.account_id)


@functools.lru_cache(maxsize=_SHAPES)
def _page_statement(shape: tuple[Any, ...], sort: ProductSort) -> Any:
    # The id breaks ties, so that pages neither repeat nor skip rows.
    return (_rows_select().where(*_listing_conditions(shape))
            .order_by(_ORDERS[sort], _p.c.id).offset(_OFFSET).limit(_LIMIT))


@functools.lru_cache(maxsize=_SHAPES)
def _count_statement(shape: tuple[Any, ...], bound: int) -> Any:
    matching = (select(literal(1)).select_from(_from_seller())
                .where(*_listing_conditions(shape)).limit(bound + 1).subquery())
    return select(func.count()).select_from(matching)


@functools.lru_cache(maxsize=_SHAPES)
def _window_statement(shape: tuple[Any, ...], windowed: bool) -> Any:
    recent = (_p.c.created_at >= bindparam("window_start", type_=_p.c.created_at.type)
              if windowed else true())
    walked = (
        select(_p.c.id, _p.c.created_at)
        .select_from(_from_seller())
        .where(*_listing_conditions(shape, walk=True), recent)
        .order_by(_p.c.created_at.desc(), _p.c.id)
        .limit(bindparam("walk_limit", type_=Integer()))
        .cte("walked")
    )
    return _page_rows(walked, "window_page", "seen")


@functools.lru_cache(maxsize=_SHAPES)
def _index_statements(shape: tuple[Any, ...]) -> tuple[Any, Any]:
    """The page with its total, and the total alone (for a page past the last)."""
    hits = (
        select(_p.c.id, _p.c.created_at)
        .select_from(_from_seller())
        .where(*_listing_conditions(shape))
        .cte("hits")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    return _page_rows(hits, "page", "total"), select(func.count()).select_from(hits)


def _page_rows(ids: Any, page_name: str, counted: str) -> Any:
    """The rows of one page (``offset``, ``limit``) of ``ids`` (a CTE of ``id`` and
    ``created_at``), newest first, each with the number of ``ids`` as ``counted``."""
    page = (
        select(ids.c.id)
        .order_by(ids.c.created_at.desc(), ids.c.id)
        .offset(_OFFSET)
        .limit(_LIMIT)
        .subquery(page_name)
    )
    count = select(func.count()).select_from(ids).scalar_subquery()
    return (_rows_select().add_columns(count.label(counted))
            .join(page, page.c.id == _p.c.id)
            .order_by(_p.c.created_at.desc(), _p.c.id))


def _rows_select() -> Select[Any]:
    return (
        select(*_ROW_COLUMNS)
        .select_from(_p.join(_s, _s.c.account_id == _p.c.account_id)
                     .join(_c, _c.c.id == _p.c.category_id)
                     .join(_b, _b.c.id == _p.c.brand_id))
    )


def _view_select() -> Select[Product, str | None, str, str, str]:
    return (
        select(Product, _seller.company_name, _seller.status, Category.name, Brand.name)
        .join(_seller, _seller.account_id == Product.account_id)
        .join(Category, Category.id == Product.category_id)
        .join(Brand, Brand.id == Product.brand_id)
    )


def _view(row: Any) -> ProductView:
    return ProductView(product=row[0], company_name=row[1], seller_status=row[2],
                       category_name=row[3], brand_name=row[4])


def _recently_short(key: tuple[Any, ...]) -> bool:
    return _short_windows.get(key) is not None


def _remember_short(key: tuple[Any, ...]) -> None:
    _short_windows.put(key, True, _short_windows.clock() + SHORT_WINDOW_TTL_S)


class ProductRepository(RepositoryBase):
    async def view(self, product_id: uuid.UUID, *, fresh: bool = False) -> ProductView | None:
        """``fresh``: overwrite a copy already loaded in this session with the row as it is
        now (otherwise the session's copy wins)."""
        stmt = _view_select().where(Product.id == product_id)
        if fresh:
            stmt = stmt.execution_options(populate_existing=True)
        row = (await self.session.execute(stmt)).one_or_none()
        return _view(row) if row is not None else None

    async def view_by_code(self, code: str) -> ProductView | None:
        row = (await self.session.execute(
            _view_select().where(Product.code == code)
        )).one_or_none()
        return _view(row) if row is not None else None

    async def _rows(self, stmt: Any, values: dict[str, Any]) -> list[Any]:
        conn = await self.session.connection()
        return list((await conn.execute(stmt, values)).all())

    async def listing(
        self, filters: ListingFilters, *, offset: int, limit: int
    ) -> tuple[list[Any], int, bool]:
        """A page (rows of ``_ROW_COLUMNS``), the number of matching products and whether that
        number is exact.

        The count stops at ``TOTAL_BOUND`` + 1 rows: up to the bound it is exact, past it the
        answer is (``TOTAL_BOUND``, False). A first page shorter than ``limit`` is its own
        count, with no second statement."""
        shape, values = _listing_shape(filters)
        values.update(offset=offset, limit=limit)
        if filters.q and filters.sort == ProductSort.newest and filters.mine_of is None:
            return await self._search_newest(filters, shape, values, offset=offset, limit=limit)
        rows = await self._rows(_page_statement(shape, filters.sort), values)
        if offset == 0 and len(rows) < limit:
            return rows, len(rows), True
        total, exact = await self._bounded_count(shape, values)
        return rows, total, exact

    async def _bounded_count(self, shape: tuple[Any, ...],
                             values: dict[str, Any]) -> tuple[int, bool]:
        conn = await self.session.connection()
        total = int((await conn.execute(_count_statement(shape, TOTAL_BOUND),
                                        values)).scalar_one())
        if total > TOTAL_BOUND:
            return TOTAL_BOUND, False
        return total, True

    async def _search_newest(
        self, filters: ListingFilters, shape: tuple[Any, ...], values: dict[str, Any], *,
        offset: int, limit: int,
    ) -> tuple[list[Any], int, bool]:
        """A text search in the marketplace, newest first, whatever the word's frequency.

        PostgreSQL estimates every prefix query alike (~2 % of rows), so left to itself it
        walks the newest-first index for a rare word too, testing every row of the table, and
        counts a common word by collecting all its matches from the GIN index. So:

        1. The newest ``RECENT_WINDOW`` products first, walked newest first (an index range)
           until ``TOTAL_BOUND`` + 1 matches: the page and their count in one statement. A
           common word stops there (the page is exactly the newest matches, and more than
           ``TOTAL_BOUND`` match); a word that fills the page with fewer matches in the window
           is counted once more over the whole table (bounded, from the GIN index).
        2. Otherwise the word is rare enough: its matches come from the GIN index
           (materialised, so the planner cannot walk the index instead), sorted, counted in
           the same statement. A search whose window came up short lately starts here
           (``SHORT_WINDOW_TTL_S``)."""
        short_key = (filters, offset + limit, RECENT_WINDOW)
        if offset + limit <= RECENT_WINDOW and not _recently_short(short_key):
            # The window's start is read first and bound as a value: under row-level security a
            # condition holding a subquery counts as leaky and is evaluated after the policies,
            # row by row, so the walk read all 100,000 products instead of the window's range
            # (a rare word: 250 ms -> a few ms as the app role).
            window_start = await self._window_start()
            rows = await self._rows(
                _window_statement(shape, window_start is not None),
                {**values, "window_start": window_start,
                 "walk_limit": max(TOTAL_BOUND + 1, offset + limit)})
            if len(rows) == limit:
                if int(rows[0].seen) > TOTAL_BOUND:
                    return rows, TOTAL_BOUND, False
                total, exact = await self._bounded_count(shape, values)
                return rows, total, exact
            _remember_short(short_key)
        page_stmt, total_stmt = _index_statements(shape)
        rows = await self._rows(page_stmt, values)
        if rows:
            total = int(rows[0].total)
        else:
            conn = await self.session.connection()
            total = 0 if offset == 0 else int((await conn.execute(
                total_stmt, values)).scalar_one())
        if total > TOTAL_BOUND:
            # Common now: the next one walks the window again (this path counts every match).
            _short_windows.forget(short_key)
            return rows, TOTAL_BOUND, False
        return rows, total, True

    async def _window_start(self) -> Any:
        global _window_start
        read_at, window, start = _window_start
        now = time.monotonic()
        if window == RECENT_WINDOW and now - read_at < WINDOW_START_TTL_S:
            return start
        conn = await self.session.connection()
        start = (await conn.execute(
            select(_p.c.created_at)
            .where(_p.c.is_active.is_(True))
            .order_by(_p.c.created_at.desc())
            .offset(RECENT_WINDOW - 1)
            .limit(1)
        )).scalar()
        _window_start = (now, RECENT_WINDOW, start)
        return start

    async def count_active(self, account_id: uuid.UUID) -> int:
        stmt = select(func.count()).select_from(Product).where(
            Product.account_id == account_id, Product.is_active.is_(True)
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def get_owned_for_update(
        self, product_id: uuid.UUID, account_id: uuid.UUID
    ) -> Product | None:
        stmt = (
            select(Product)
            .where(Product.id == product_id, Product.account_id == account_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def insert_unless_code_taken(self, values: dict[str, Any]) -> uuid.UUID | None:
        """Insert a product; None when its code is already taken (by a committed product, or by
        a concurrent insert that then commits: the statement waits for it). One round trip, no
        savepoint: a taken code is not an error that poisons the transaction."""
        stmt = (
            pg_insert(Product)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[Product.code])
            .returning(Product.id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def restore_stock(self, product_id: uuid.UUID, quantity: int) -> None:
        stmt = (
            update(Product)
            .where(Product.id == product_id)
            .values(stock_quantity=Product.stock_quantity + quantity, updated_at=func.now())
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(stmt)
