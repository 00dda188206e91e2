"""Categories and brands. Reading: any authenticated caller, platform operators included.
Writing: platform operators.

Writes take an AvAdmin operator token (``typ="operator"``) or an internal service token (client
credentials), which scripts and the operators' tools use.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, status

from avelar_kit.auth.dependencies import CurrentPrincipal
from avelar_kit.db.session import SessionDep
from stocktech.catalog.models import Brand, Category
from stocktech.catalog.schemas import (
    BrandCreate,
    BrandOut,
    BrandUpdate,
    CategoryCreate,
    CategoryOut,
    CategoryUpdate,
)
from stocktech.catalog.service import TaxonomyService
from stocktech.dependencies import CatalogReader, TaxonomyManager

router = APIRouter(prefix="/api", tags=["catalog"])


def _fields(body: Any) -> dict[str, Any]:
    data: dict[str, Any] = body.model_dump(exclude_unset=True)
    if "logo_url" in data and data["logo_url"] is not None:
        data["logo_url"] = str(data["logo_url"])
    return data


@router.get("/categories", response_model=list[CategoryOut])
async def list_categories(
    session: SessionDep, service: CatalogReader, include_inactive: bool = False
) -> list[CategoryOut]:
    """Active categories, by name (operators too). Services may ask for inactive ones too."""
    items = await TaxonomyService(session).list(
        Category, include_inactive=include_inactive and service)
    return [CategoryOut.model_validate(c) for c in items]


@router.get("/categories/{category_id}", response_model=CategoryOut)
async def get_category(
    session: SessionDep, principal: CurrentPrincipal, category_id: uuid.UUID
) -> CategoryOut:
    """One category."""
    return CategoryOut.model_validate(await TaxonomyService(session).get(
        Category, category_id, include_inactive=principal.is_service))


@router.post("/categories", response_model=CategoryOut, status_code=status.HTTP_201_CREATED)
async def create_category(
    session: SessionDep, operator: TaxonomyManager, body: CategoryCreate
) -> CategoryOut:
    """Create a category (operators). Names are unique regardless of case."""
    return CategoryOut.model_validate(
        await TaxonomyService(session).create(operator, Category, _fields(body)))


@router.patch("/categories/{category_id}", response_model=CategoryOut)
async def update_category(
    session: SessionDep, operator: TaxonomyManager, category_id: uuid.UUID,
    body: CategoryUpdate,
) -> CategoryOut:
    """Rename, describe, activate or deactivate a category (operators)."""
    return CategoryOut.model_validate(
        await TaxonomyService(session).update(operator, Category, category_id, _fields(body)))


@router.get("/brands", response_model=list[BrandOut])
async def list_brands(
    session: SessionDep, service: CatalogReader, include_inactive: bool = False
) -> list[BrandOut]:
    """Active brands, by name (operators too). Services may ask for inactive ones too."""
    items = await TaxonomyService(session).list(
        Brand, include_inactive=include_inactive and service)
    return [BrandOut.model_validate(b) for b in items]


@router.get("/brands/{brand_id}", response_model=BrandOut)
async def get_brand(
    session: SessionDep, principal: CurrentPrincipal, brand_id: uuid.UUID
) -> BrandOut:
    """One brand."""
    return BrandOut.model_validate(await TaxonomyService(session).get(
        Brand, brand_id, include_inactive=principal.is_service))


@router.post("/brands", response_model=BrandOut, status_code=status.HTTP_201_CREATED)
async def create_brand(
    session: SessionDep, operator: TaxonomyManager, body: BrandCreate
) -> BrandOut:
    """Create a brand (operators). Names are unique regardless of case."""
    return BrandOut.model_validate(
        await TaxonomyService(session).create(operator, Brand, _fields(body)))


@router.patch("/brands/{brand_id}", response_model=BrandOut)
async def update_brand(
    session: SessionDep, operator: TaxonomyManager, brand_id: uuid.UUID, body: BrandUpdate
) -> BrandOut:
    """Rename, change the logo, activate or deactivate a brand (operators)."""
    return BrandOut.model_validate(
        await TaxonomyService(session).update(operator, Brand, brand_id, _fields(body)))
