from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, StringConstraints

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=50)]
Icon = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
LogoUrl = Annotated[AnyHttpUrl, Field(max_length=255)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CategoryCreate(_In):
    name: Name
    description: Description | None = None
    icon: Icon | None = None


class CategoryUpdate(_In):
    name: Name | None = None
    description: Description | None = None
    icon: Icon | None = None
    is_active: bool | None = None


class CategoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    description: str | None
    icon: str | None
    is_active: bool


class BrandCreate(_In):
    name: Name
    logo_url: LogoUrl | None = None


class BrandUpdate(_In):
    name: Name | None = None
    logo_url: LogoUrl | None = None
    is_active: bool | None = None


class BrandOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    logo_url: str | None
    is_active: bool
