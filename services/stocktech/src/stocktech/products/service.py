"""Product rules: who may see and change what, plan limits, codes."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pydantic_core
from sqlalchemy.ext.asyncio import AsyncSession

from avelar_kit.audit import record_audit
from avelar_kit.auth.caller import Caller
from avelar_kit.br.money import quantize_brl
from avelar_kit.errors import Conflict, NotFound, PlanLimitReached, Unprocessable
from stocktech.accounts.repository import KnownStanding
from stocktech.accounts.service import AccountService
from stocktech.audit.models import AuditLog
from stocktech.catalog.models import Brand, Category
from stocktech.products import codes
from stocktech.products.repository import ListingFilters, ProductRepository, ProductView
from stocktech.products.schemas import ProductCreate, ProductOut, ProductUpdate

logger = logging.getLogger("stocktech.products")

# One million codes: with a random pick a collision is rare, and each retry is a new draw.
CODE_ATTEMPTS = 20


def _not_found() -> NotFound:
    return NotFound("Produto não encontrado", code="product_not_found")


def to_out(view: ProductView, viewer: uuid.UUID | None) -> ProductOut:
    p = view.product
    owner = viewer is not None and viewer == p.account_id
    return ProductOut.model_validate({
        "id": p.id, "code": p.code, "name": p.name, "description": p.description,
        "category": {"id": p.category_id, "name": view.category_name},
        "brand": {"id": p.brand_id, "name": view.brand_name},
        "price": p.price, "stock_quantity": p.stock_quantity, "images": list(p.images),
        "specifications": dict(p.specifications), "is_active": p.is_active,
        "seller": {"account_id": p.account_id, "company_name": view.company_name},
        "user_id": p.user_id if owner else None,
        "created_at": p.created_at, "updated_at": p.updated_at,
    })


def page_item(row: Any, viewer: uuid.UUID) -> dict[str, Any]:
    """A listing row (``repository._ROW_COLUMNS``) as ``ProductOut``'s JSON, without building
    and validating a model per row: the values come from the database's own typed columns.
    The keys are ``ProductOut``'s, in its order, and the price is serialised as its
    ``NonNegativeMoney`` is (test_search checks the page against the models)."""
    return {
        "id": row.id, "code": row.code, "name": row.name, "description": row.description,
        "category": {"id": row.category_id, "name": row.category_name},
        "brand": {"id": row.brand_id, "name": row.brand_name},
        "price": format(quantize_brl(row.price), "f"), "stock_quantity": row.stock_quantity,
        "images": row.images, "specifications": row.specifications,
        "is_active": row.is_active,
        "seller": {"account_id": row.account_id, "company_name": row.company_name},
        "user_id": row.user_id if row.account_id == viewer else None,
        "created_at": row.created_at, "updated_at": row.updated_at,
    }


def _visible(view: ProductView | None, viewer: uuid.UUID) -> ProductView:
    """The owner sees its products in any state; others only what is on sale. Anything else is
    404, so that another company cannot even learn that a product exists."""
    if view is None or (view.product.account_id != viewer and not view.on_sale):
        raise _not_found()
    return view


async def _check_product_limit(repo: ProductRepository, account: KnownStanding) -> None:
    """Called with the company's row locked (authorise_write), so the count cannot change
    under us: of two concurrent creates at the limit, the second sees the first."""
    if account.max_products is None:
        return
    active = await repo.count_active(account.account_id)
    PlanLimitReached.check(limit="max_products", plan=account.plan_name,
                           allowed=account.max_products, used=active,
                           hint="Desative um produto ou mude de plano.")


async def insert_with_code(repo: ProductRepository, values: dict[str, Any]) -> uuid.UUID:
    """Insert a product under a fresh random code; a code already taken (rare: one million
    codes) is drawn again."""
    for attempt in range(1, CODE_ATTEMPTS + 1):
        code = codes.generate_code()
        product_id = await repo.insert_unless_code_taken(dict(values, code=code))
        if product_id is not None:
            return product_id
        logger.info("product code %s taken, drawing another (attempt %d)", code, attempt)
    raise Conflict("Não foi possível gerar um código de produto; tente novamente",
                   code="product_code_exhausted")


class ProductService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = ProductRepository(session)

    async def _check_taxonomy(
        self, category_id: uuid.UUID | None, brand_id: uuid.UUID | None
    ) -> None:
        if category_id is not None:
            category = await self.session.get(Category, category_id)
            if category is None or not category.is_active:
                raise Unprocessable("Categoria inexistente ou desativada",
                                    code="invalid_category")
        if brand_id is not None:
            brand = await self.session.get(Brand, brand_id)
            if brand is None or not brand.is_active:
                raise Unprocessable("Marca inexistente ou desativada", code="invalid_brand")

    async def create(
        self, caller: Caller, body: ProductCreate, *, event_precedence_seconds: int,
    ) -> ProductOut:
        await self._check_taxonomy(body.category_id, body.brand_id)
        account = await AccountService(self.session).authorise_write(
            caller, event_precedence_seconds=event_precedence_seconds)
        repo = self.repo
        await _check_product_limit(repo, account)
        values: dict[str, Any] = body.model_dump()
        values.update(account_id=caller.account_id, user_id=caller.user_id)
        product_id = await insert_with_code(repo, values)
        view = await repo.view(product_id)
        assert view is not None
        return to_out(view, caller.account_id)

    async def get(self, viewer: uuid.UUID, product_id: uuid.UUID) -> ProductOut:
        view = _visible(await self.repo.view(product_id), viewer)
        return to_out(view, viewer)

    async def get_by_code(self, viewer: uuid.UUID, code: str) -> ProductOut:
        try:
            normalized = codes.normalize_code(code)
        except ValueError as exc:
            raise Unprocessable(str(exc), code="invalid_product_code") from None
        view = _visible(await self.repo.view_by_code(normalized), viewer)
        return to_out(view, viewer)

    async def list_json(
        self, viewer: uuid.UUID, filters: ListingFilters, *, page: int, page_size: int,
    ) -> bytes:
        """The page as ``ProductPage``'s JSON (the router answers it as is)."""
        rows, total, exact = await self.repo.listing(
            filters, offset=(page - 1) * page_size, limit=page_size
        )
        return pydantic_core.to_json({
            "items": [page_item(r, viewer) for r in rows], "total": total,
            "total_exact": exact, "page": page, "page_size": page_size,
        })

    async def update(
        self, caller: Caller, product_id: uuid.UUID, body: ProductUpdate, *,
        event_precedence_seconds: int,
    ) -> ProductOut:
        repo = self.repo
        changes = body.model_dump(exclude_unset=True)
        await self._check_taxonomy(changes.get("category_id"), changes.get("brand_id"))
        # Ownership first, without a lock, so that another company's id costs no AvAdmin call.
        current = await repo.view(product_id)
        if current is None or current.product.account_id != caller.account_id:
            raise _not_found()
        reactivating = changes.get("is_active") is True and not current.product.is_active
        if reactivating:
            # Locks the company's row before the product's, the order every writer follows.
            account = await AccountService(self.session).authorise_write(
                caller, event_precedence_seconds=event_precedence_seconds)
            await _check_product_limit(repo, account)
        product = await repo.get_owned_for_update(product_id, caller.account_id)
        if product is None:
            raise _not_found()
        for key, value in changes.items():
            setattr(product, key, value)
        await self.session.flush()
        view = await repo.view(product_id)
        assert view is not None
        return to_out(view, caller.account_id)

    async def deactivate(self, caller: Caller, product_id: uuid.UUID) -> None:
        product = await self.repo.get_owned_for_update(product_id, caller.account_id)
        if product is None:
            raise _not_found()
        before = product.is_active
        product.is_active = False
        await self.session.flush()
        record_audit(self.session, AuditLog, actor=f"user:{caller.user_id}",
                     action="product.deactivated", account_id=caller.account_id,
                     target=f"product:{product.id}", before={"is_active": before},
                     after={"is_active": False}, details={"code": product.code})
