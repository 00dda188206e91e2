"""StockTech: marketplace search and product page, buying, my products, my purchases and
sales."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from avelar_web.api import ApiError
from avelar_web.context import Page, get_page
from avelar_web.formatting import money_input, parse_money
from avelar_web.pages import field_errors, local_error

router = APIRouter()
SORTS = {"newest": "Mais recentes", "price_asc": "Menor preço", "price_desc": "Maior preço",
         "name": "Nome"}
PAGE_SIZE = 12


async def _taxonomy(page: Page) -> tuple[list[Any], list[Any]]:
    cats, _ = await page.try_call("StockTech", "GET", "/api/categories")
    brands, _ = await page.try_call("StockTech", "GET", "/api/brands")

    def items(data: Any) -> list[Any]:
        return data if isinstance(data, list) else (data or {}).get("items", [])

    return items(cats), items(brands)


@router.get("/marketplace")
async def marketplace(request: Request, page: Page = Depends(get_page)) -> Response:
    page.require_module("StockTech")
    q = request.query_params
    errors: dict[str, str] = {}
    params: dict[str, Any] = {"q": q.get("q") or None, "category_id": q.get("category_id"),
                              "brand_id": q.get("brand_id"), "sort": q.get("sort") or None,
                              "page": q.get("page") or 1, "page_size": PAGE_SIZE}
    for name in ("min_price", "max_price"):
        if q.get(name):
            value = local_error(errors, name, parse_money, q[name])
            params[name] = str(value) if value is not None else None
    if q.get("in_stock"):
        params["in_stock"] = "true"
    result: dict[str, Any] = {"items": [], "total": 0, "page": 1}
    error = None
    if not errors:
        try:
            result = await page.call("StockTech", "GET", "/api/products", params=params)
        except ApiError as exc:
            errors, error = field_errors(exc), exc.message
    categories, brands = await _taxonomy(page)
    pages = max(1, -(-int(result.get("total", 0)) // PAGE_SIZE))
    template = "_products.html" if request.headers.get("hx-request") else "marketplace.html"
    return page.render(template, result=result, form=dict(q), errors=errors, error=error,
                       categories=categories, brands=brands, sorts=SORTS, pages=pages,
                       mine=page.claims.get("account_id"))


@router.get("/marketplace/{product_id}")
async def product(product_id: uuid.UUID, page: Page = Depends(get_page)) -> Response:
    page.require_module("StockTech")
    item = await page.call("StockTech", "GET", f"/api/products/{product_id}")
    return page.render("product.html", item=item, mine=page.claims.get("account_id"),
                       key=uuid.uuid4().hex)


@router.post("/marketplace/{product_id}/comprar")
async def buy(product_id: uuid.UUID, page: Page = Depends(get_page)) -> Response:
    page.require_module("StockTech")
    form = await page.form()
    errors: dict[str, str] = {}
    try:
        quantity = int(form.get("quantity", "1"))
        if quantity < 1:
            raise ValueError
    except ValueError:
        errors["quantity"] = "Quantidade deve ser um número inteiro maior que zero"
        quantity = 0
    if not errors:
        try:
            await page.call("StockTech", "POST", "/api/transactions",
                            json={"product_id": str(product_id), "quantity": quantity},
                            headers={"Idempotency-Key": form.get("key") or uuid.uuid4().hex})
            return page.redirect("/stocktech/transacoes?papel=buyer",
                                 "Compra registrada. Combine a entrega pelo WhatsApp.")
        except ApiError as exc:
            errors = field_errors(exc)
            message = exc.message
    else:
        message = "Confira a quantidade."
    item = await page.call("StockTech", "GET", f"/api/products/{product_id}")
    return page.render("product.html", status_code=422, item=item, errors=errors,
                       error=message, form=form, mine=page.claims.get("account_id"),
                       key=uuid.uuid4().hex)


async def _my_products(page: Page, status_code: int = 200, **values: Any) -> Response:
    result = await page.call("StockTech", "GET", "/api/products",
                             params={"mine": "true", "page_size": 100})
    categories, brands = await _taxonomy(page)
    return page.render("my_products.html", status_code=status_code, result=result,
                       categories=categories, brands=brands, **values)


@router.get("/stocktech/produtos")
async def my_products(page: Page = Depends(get_page)) -> Response:
    page.require_module("StockTech")
    return await _my_products(page)


def _product_body(form: dict[str, str], errors: dict[str, str]) -> dict[str, Any]:
    price = local_error(errors, "price", parse_money, form.get("price", ""))
    try:
        stock = int(form.get("stock_quantity", "0") or 0)
    except ValueError:
        errors["stock_quantity"] = "Estoque deve ser um número inteiro"
        stock = 0
    specs: dict[str, str] = {}
    for line in form.get("specifications", "").splitlines():
        if ":" in line:
            key, _, value = line.partition(":")
            if key.strip():
                specs[key.strip()] = value.strip()
    images = [u.strip() for u in form.get("images", "").splitlines() if u.strip()]
    return {"name": form.get("name", ""), "description": form.get("description") or None,
            "category_id": form.get("category_id") or None,
            "brand_id": form.get("brand_id") or None,
            "price": str(price) if price is not None else None, "stock_quantity": stock,
            "images": images, "specifications": specs}


@router.post("/stocktech/produtos")
async def create_product(page: Page = Depends(get_page)) -> Response:
    page.require_module("StockTech")
    form = await page.form()
    errors: dict[str, str] = {}
    body = _product_body(form, errors)
    if not errors:
        try:
            created = await page.call("StockTech", "POST", "/api/products", json=body)
            return page.redirect("/stocktech/produtos", f"Produto {created['code']} criado.")
        except ApiError as exc:
            return await _my_products(page, exc.status, form=form, errors=field_errors(exc),
                                      error=exc.message)
    return await _my_products(page, 422, form=form, errors=errors,
                              error="Confira os campos destacados.")


@router.get("/stocktech/produtos/{product_id}")
async def edit_product_form(product_id: uuid.UUID, page: Page = Depends(get_page)) -> Response:
    page.require_module("StockTech")
    item = await page.call("StockTech", "GET", f"/api/products/{product_id}")
    categories, brands = await _taxonomy(page)
    form = {"name": item["name"], "description": item.get("description") or "",
            "category_id": item["category"]["id"], "brand_id": item["brand"]["id"],
            "price": money_input(item["price"]), "stock_quantity": str(item["stock_quantity"]),
            "images": "\n".join(item.get("images") or []),
            "specifications": "\n".join(f"{k}: {v}" for k, v in
                                        (item.get("specifications") or {}).items())}
    return page.render("product_edit.html", item=item, form=form, categories=categories,
                       brands=brands)


@router.post("/stocktech/produtos/{product_id}")
async def edit_product(product_id: uuid.UUID, page: Page = Depends(get_page)) -> Response:
    page.require_module("StockTech")
    form = await page.form()
    errors: dict[str, str] = {}
    body = _product_body(form, errors)
    if not errors:
        try:
            await page.call("StockTech", "PATCH", f"/api/products/{product_id}", json=body)
            return page.redirect("/stocktech/produtos", "Produto atualizado.")
        except ApiError as exc:
            errors, message = field_errors(exc), exc.message
    else:
        message = "Confira os campos destacados."
    item = await page.call("StockTech", "GET", f"/api/products/{product_id}")
    categories, brands = await _taxonomy(page)
    return page.render("product_edit.html", status_code=422, item=item, form=form,
                       errors=errors, error=message, categories=categories, brands=brands)


@router.post("/stocktech/produtos/{product_id}/desativar")
async def deactivate_product(product_id: uuid.UUID, page: Page = Depends(get_page)
                             ) -> Response:
    page.require_module("StockTech")
    try:
        await page.call("StockTech", "DELETE", f"/api/products/{product_id}")
    except ApiError as exc:
        return await _my_products(page, exc.status, error=exc.message)
    return page.redirect("/stocktech/produtos", "Produto retirado do marketplace.")


@router.get("/stocktech/transacoes")
async def transactions(papel: str = "", page: Page = Depends(get_page)) -> Response:
    page.require_module("StockTech")
    role = papel if papel in ("buyer", "seller") else None
    result = await page.call("StockTech", "GET", "/api/transactions",
                             params={"role": role, "page_size": 50})
    return page.render("transactions.html", result=result, role=role,
                       mine=page.claims.get("account_id"))


@router.post("/stocktech/transacoes/{tx_id}/{action}")
async def transaction_action(tx_id: uuid.UUID, action: str, page: Page = Depends(get_page)
                             ) -> Response:
    page.require_module("StockTech")
    if action not in ("complete", "cancel"):
        raise ApiError(404, "Ação desconhecida")
    await page.call("StockTech", "POST", f"/api/transactions/{tx_id}/{action}")
    return page.redirect("/stocktech/transacoes",
                         "Venda concluída." if action == "complete" else "Transação cancelada.")
