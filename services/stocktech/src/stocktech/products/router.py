"""Products: the marketplace listing and each company's own catalogue."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from avelar_kit.br.types import NonNegativeMoney
from avelar_kit.db.session import SessionDep
from avelar_kit.errors import Unprocessable
from stocktech.dependencies import (
    CanCreateProduct,
    CanDeleteProduct,
    CanUpdateProduct,
    SettingsDep,
    StockTechUser,
)
from stocktech.products.repository import ListingFilters
from stocktech.products.schemas import (
    MAX_PAGE_SIZE,
    ProductCreate,
    ProductOut,
    ProductPage,
    ProductSort,
    ProductUpdate,
)
from stocktech.products.service import ProductService

router = APIRouter(prefix="/api/products", tags=["products"])


@router.get("", response_model=ProductPage)
async def list_products(
    session: SessionDep,
    caller: StockTechUser,
    mine: Annotated[bool, Query(description="Only my company's products, inactive included")]
    = False,
    q: Annotated[str | None, Query(min_length=1, max_length=100,
                                   description="Words of the name or description, each "
                                   "also as a beginning (`tela ipho` finds \"Tela iPhone 11\"), "
                                   "or a product code or the start of one (`ST1234`)")]
    = None,
    category_id: uuid.UUID | None = None,
    brand_id: uuid.UUID | None = None,
    min_price: Annotated[NonNegativeMoney | None, Query()] = None,
    max_price: Annotated[NonNegativeMoney | None, Query()] = None,
    in_stock: Annotated[bool | None, Query(description="true: with stock; false: sold out")]
    = None,
    sort: ProductSort = ProductSort.newest,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
) -> Response:
    """The marketplace: active products of active companies, filtered, sorted and paginated.

    With ``mine=true``, the caller's own products instead, inactive ones included. Served from
    StockTech's own database only, so it keeps working while AvAdmin is down.

    ``total`` is exact up to 1000 matching products; past that the count stops there and
    ``total_exact`` is ``false`` (show "mais de 1.000"), so that a broad search costs the same
    as a narrow one."""
    if min_price is not None and max_price is not None and min_price > max_price:
        raise Unprocessable("O preço mínimo é maior que o máximo", code="invalid_price_range")
    filters = ListingFilters(
        q=q, category_id=category_id, brand_id=brand_id, min_price=min_price,
        max_price=max_price, in_stock=in_stock, sort=sort,
        mine_of=caller.account_id if mine else None,
    )
    # The page is serialised once, from the rows (ProductPage stays the documented schema; a
    # Response returned as is is not validated again by FastAPI).
    body = await ProductService(session).list_json(caller.account_id, filters, page=page,
                                                   page_size=page_size)
    return Response(body, media_type="application/json")


@router.post("", response_model=ProductOut, status_code=status.HTTP_201_CREATED)
async def create_product(
    session: SessionDep, caller: CanCreateProduct, settings: SettingsDep,
    body: ProductCreate,
) -> ProductOut:
    """List a product for sale. Its code (``ST`` + 6 digits + check letter) is generated.

    Refused with 403 ``plan_limit_products`` when the company already has as many active
    products as its plan allows."""
    return await ProductService(session).create(
        caller, body, event_precedence_seconds=settings.event_precedence_seconds
    )


@router.get("/by-code/{code}", response_model=ProductOut)
async def get_product_by_code(
    session: SessionDep, caller: StockTechUser, code: str
) -> ProductOut:
    """Find a product by its code (case and dashes ignored). A malformed code or a wrong check
    letter is 422 ``invalid_product_code``."""
    return await ProductService(session).get_by_code(caller.account_id, code)


@router.get("/{product_id}", response_model=ProductOut)
async def get_product(
    session: SessionDep, caller: StockTechUser, product_id: uuid.UUID
) -> ProductOut:
    """A product on sale, or one of the caller's own in any state; otherwise 404."""
    return await ProductService(session).get(caller.account_id, product_id)


@router.patch("/{product_id}", response_model=ProductOut)
async def update_product(
    session: SessionDep, caller: CanUpdateProduct, settings: SettingsDep,
    product_id: uuid.UUID, body: ProductUpdate,
) -> ProductOut:
    """Change one of the caller's products (404 for anyone else's)."""
    return await ProductService(session).update(
        caller, product_id, body,
        event_precedence_seconds=settings.event_precedence_seconds,
    )


@router.delete("/{product_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_product(
    session: SessionDep, caller: CanDeleteProduct, product_id: uuid.UUID
) -> Response:
    """Take one of the caller's products off sale (it is deactivated, not erased: purchases
    refer to it)."""
    await ProductService(session).deactivate(caller, product_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
