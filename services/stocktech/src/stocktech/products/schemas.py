from __future__ import annotations

import enum
import json
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    model_validator,
)

from avelar_kit.br.types import MoneyRule, NonNegativeMoney
from stocktech.products.codes import normalize_code

# products.price is NUMERIC(10,2).
MAX_PRICE = Decimal("99999999.99")
MAX_STOCK = 10_000_000
MAX_IMAGES = 10
MAX_SPEC_KEYS = 50
MAX_SPEC_BYTES = 8 * 1024
MAX_PAGE_SIZE = 100


_URL = TypeAdapter(Annotated[AnyHttpUrl, Field(max_length=500)])


def _image_url(value: str) -> str:
    return str(_URL.validate_python(value))


def _specifications(value: dict[str, Any]) -> dict[str, Any]:
    if len(value) > MAX_SPEC_KEYS:
        raise ValueError(f"especificações: no máximo {MAX_SPEC_KEYS} itens")
    for key in value:
        if not key.strip() or len(key) > 100:
            raise ValueError("especificações: cada nome deve ter de 1 a 100 caracteres")
    # The JSON parser accepts NaN, Infinity and lone surrogates (\ud800); JSONB refuses them.
    try:
        size = len(json.dumps(value, ensure_ascii=False, allow_nan=False).encode())
    except ValueError:  # UnicodeEncodeError included
        raise ValueError("especificações: use apenas números finitos e texto válido") from None
    if size > MAX_SPEC_BYTES:
        raise ValueError(f"especificações: no máximo {MAX_SPEC_BYTES // 1024} KB")
    return value


def _distinct(value: list[str]) -> list[str]:
    if len(set(value)) != len(value):
        raise ValueError("imagens repetidas")
    return value


# The kit's money rule (the OpenAPI pattern and the validator agree, as in Lucrum): a price is
# positive, at most 8 integer digits, no sign, no spaces.
Price = Annotated[Decimal, MoneyRule(positive=True, integer_digits=8, maximum=MAX_PRICE)]
ProductName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2,
                                              max_length=200)]
ProductDescription = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)]
# Strict: true, "5" or 5.0 as a quantity is a client bug, as for PurchaseCreate.quantity.
StockQuantity = Annotated[int, Field(ge=0, le=MAX_STOCK, strict=True)]
ImageUrl = Annotated[str, AfterValidator(_image_url)]
Images = Annotated[list[ImageUrl], Field(max_length=MAX_IMAGES), AfterValidator(_distinct)]
Specifications = Annotated[dict[str, Any], AfterValidator(_specifications)]
ProductCode = Annotated[str, AfterValidator(normalize_code)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProductCreate(_In):
    name: ProductName
    description: ProductDescription | None = None
    category_id: uuid.UUID
    brand_id: uuid.UUID
    price: Price
    stock_quantity: StockQuantity
    images: Images = Field(default_factory=list)
    specifications: Specifications = Field(default_factory=dict)


class ProductUpdate(_In):
    """Only the fields sent change. ``is_active: true`` puts a product back on sale (counted
    against the plan again)."""

    name: ProductName | None = None
    description: ProductDescription | None = None
    category_id: uuid.UUID | None = None
    brand_id: uuid.UUID | None = None
    price: Price | None = None
    stock_quantity: StockQuantity | None = None
    images: Images | None = None
    specifications: Specifications | None = None
    is_active: bool | None = None

    @model_validator(mode="after")
    def _no_null_for_required(self) -> ProductUpdate:
        # Leaving a field out keeps it; sending null would erase something that must exist.
        nulls = sorted(f for f in self.model_fields_set
                       if f != "description" and getattr(self, f) is None)
        if nulls:
            raise ValueError(f"estes campos não podem ser nulos: {', '.join(nulls)}")
        return self


class Ref(BaseModel):
    id: uuid.UUID
    name: str | None


class Seller(BaseModel):
    account_id: uuid.UUID
    company_name: str | None


class ProductOut(BaseModel):
    id: uuid.UUID
    code: str
    name: str
    description: str | None
    category: Ref
    brand: Ref
    price: NonNegativeMoney
    stock_quantity: int
    images: list[str]
    specifications: dict[str, Any]
    is_active: bool
    seller: Seller
    # Only for the owning company: who listed it.
    user_id: uuid.UUID | None = None
    created_at: datetime
    updated_at: datetime


class ProductPage(BaseModel):
    items: list[ProductOut]
    total: int = Field(description=(
        "Quantos produtos atendem aos filtros, exato até 1000. Acima disso a contagem para "
        "(nunca percorre a tabela inteira): `total` vem 1000 e `total_exact` vem `false`; "
        "mostre \"mais de 1.000\". As páginas seguintes continuam disponíveis."))
    total_exact: bool = Field(default=True, description=(
        "`true` quando `total` é a contagem exata; `false` quando há mais de 1000 "
        "resultados e `total` é o limite da contagem."))
    page: int
    page_size: int


class ProductSort(enum.StrEnum):
    newest = "newest"
    price_asc = "price_asc"
    price_desc = "price_desc"
    name = "name"
