from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from avelar_kit.db import SessionDep
from lucrum.categories.models import CategoryKind
from lucrum.categories.schemas import CategoryCreate, CategoryOut, CategoryUpdate
from lucrum.categories.service import CategoryService
from lucrum.dependencies import CanCreateCategory, CanDeleteCategory, CanUpdateCategory, LucrumUser

router = APIRouter(prefix="/api/categories", tags=["categories"])


@router.get("", response_model=list[CategoryOut])
async def list_categories(
    session: SessionDep, caller: LucrumUser,
    kind: Annotated[CategoryKind | None, Query()] = None,
    include_inactive: bool = False,
) -> list[CategoryOut]:
    """The company's income and expense categories. A company starts with a default Brazilian
    set (Vendas, Aluguel e condomínio, Impostos e taxas, ...) that it can rename or extend."""
    rows = await CategoryService(session).list(caller.account_id, kind=kind,
                                               include_inactive=include_inactive)
    return [CategoryOut.model_validate(r) for r in rows]


@router.post("", response_model=CategoryOut, status_code=status.HTTP_201_CREATED)
async def create_category(
    body: CategoryCreate, session: SessionDep, caller: CanCreateCategory
) -> CategoryOut:
    """Add a category (names are unique per kind, ignoring case)."""
    category = await CategoryService(session).create(caller.account_id, body,
                                                     actor=f"user:{caller.user_id}")
    return CategoryOut.model_validate(category)


@router.get("/{category_id}", response_model=CategoryOut)
async def get_category(
    category_id: uuid.UUID, session: SessionDep, caller: LucrumUser
) -> CategoryOut:
    """One category."""
    category = await CategoryService(session).get(caller.account_id, category_id)
    return CategoryOut.model_validate(category)


@router.patch("/{category_id}", response_model=CategoryOut)
async def update_category(
    category_id: uuid.UUID, body: CategoryUpdate, session: SessionDep, caller: CanUpdateCategory
) -> CategoryOut:
    """Rename or (de)activate a category; its transactions follow the new name."""
    category = await CategoryService(session).update(caller.account_id, category_id, body,
                                                     actor=f"user:{caller.user_id}")
    return CategoryOut.model_validate(category)


@router.delete("/{category_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_category(
    category_id: uuid.UUID, session: SessionDep, caller: CanDeleteCategory
) -> Response:
    """Delete a category; one already used by transactions is deactivated instead."""
    await CategoryService(session).remove(caller.account_id, category_id,
                                          actor=f"user:{caller.user_id}")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
