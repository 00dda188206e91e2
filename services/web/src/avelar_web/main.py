"""The web portal's app: server-rendered pages (Jinja2, htmx) over the three modules' public
APIs. No database, no Redis: the person's tokens travel in HttpOnly cookies (session.py) and
every page reads the APIs with them."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from avelar_kit.logging import RequestIdMiddleware, configure_logging
from avelar_kit.observability import install_observability
from avelar_web import formatting
from avelar_web.api import Api, ApiError, ModuleDown
from avelar_web.config import WebSettings, get_settings
from avelar_web.context import Page, get_page
from avelar_web.session import SAFE_METHODS, CsrfRefused, LoginRequired, check_csrf

HERE = Path(__file__).parent
log = logging.getLogger("avelar_web")

# Product photos are the sellers' https addresses (StockTech stores URLs, not files): images
# may come from any https origin; scripts, styles and everything else only from the portal.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
       "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'self'; object-src 'none'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(SECURITY_HEADERS)
                if scope.get("scheme") == "https":
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_wrapper)


async def csrf_guard(request: Request, page: Page = Depends(get_page)) -> None:
    """Every unsafe request carries the session's CSRF token (form field or htmx header)."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get("x-csrf-token")
    if not sent:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get("csrf")
            sent = value if isinstance(value, str) else None
    check_csrf(page.secret, page.session, sent)


def _templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters.update(formatting.FILTERS)
    templates.env.filters["dict_without"] = lambda d, key: {k: v for k, v in d.items()
                                                           if k != key}
    templates.env.globals["percent"] = formatting.percent
    return templates


def create_app(settings: WebSettings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging("Web", settings.log_format, settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.api = Api({"AvAdmin": settings.avadmin_url,
                             "StockTech": settings.stocktech_url,
                             "Lucrum": settings.lucrum_url}, settings.api_timeout_seconds)
        try:
            yield
        finally:
            await app.state.api.aclose()

    app = FastAPI(title="AvelarSys portal", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None, dependencies=[Depends(csrf_guard)])
    app.state.settings = settings
    app.state.templates = _templates()
    app.state.secret = (settings.secret_key.get_secret_value().encode() if settings.secret_key
                        else secrets.token_bytes(32))
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    from avelar_web.pages import account, lucrum, operator, password, public, stocktech

    for module in (public, password, account, stocktech, lucrum, operator):
        app.include_router(module.router)

    @app.get("/health")
    async def health() -> JSONResponse:
        """The portal answers; ``modules`` says which APIs answer their /health/live."""
        states: dict[str, str] = {}
        for name, client in app.state.api.clients.items():
            try:
                resp = await client.get("/health/live", timeout=2)
                states[name] = "up" if resp.status_code < 500 else "down"
            except Exception:
                states[name] = "down"
        return JSONResponse({"status": "ok", "module": "Web", "modules": states,
                             "timestamp": datetime.now(UTC).isoformat()})

    @app.get("/health/live")
    async def live() -> JSONResponse:
        return JSONResponse({"status": "ok", "module": "Web"})

    install_page_errors(app)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestIdMiddleware)
    install_observability(app, "Web", settings)  # /metrics, trace context (docs/observability.md)
    return app


def _page_of(request: Request) -> Page | None:
    return getattr(request.state, "page", None)


async def _login(request: Request, exc: LoginRequired) -> Response:
    target = "/operador/entrar" if exc.operator else "/entrar"
    url = f"{target}?next={quote(exc.next_path)}"
    page = _page_of(request)
    if request.headers.get("hx-request"):
        response: Response = HTMLResponse("", headers={"HX-Redirect": url})
    else:
        response = RedirectResponse(url, status_code=303)
    return page.session.apply(response) if page else response


async def _csrf(request: Request, exc: CsrfRefused) -> Response:
    page = _page_of(request)
    detail = ("O formulário expirou ou não veio desta página. Recarregue a página e "
              "tente novamente.")
    if page is None:
        return HTMLResponse(detail, status_code=403)
    return page.render("error.html", status_code=403, title="Formulário recusado",
                       message=detail)


async def _down(request: Request, exc: ModuleDown) -> Response:
    page = _page_of(request)
    message = (f"O {exc.module} está indisponível no momento. O restante do portal "
               "continua funcionando; tente esta página mais tarde.")
    if page is None:
        return HTMLResponse(message, status_code=503)
    return page.render("error.html", status_code=503, title=f"{exc.module} indisponível",
                       message=message)


async def _api(request: Request, exc: ApiError) -> Response:
    page = _page_of(request)
    if page is None:
        return HTMLResponse(exc.message, status_code=exc.status)
    status = exc.status if 400 <= exc.status < 600 else 500
    return page.render("error.html", status_code=status, title="Não foi possível",
                       message=exc.message)


async def _not_found(request: Request, exc: Any) -> Response:
    page = _page_of(request)
    if page is None:
        return HTMLResponse("Página não encontrada", status_code=404)
    return page.render("error.html", status_code=404, title="Página não encontrada",
                       message="O endereço não existe ou foi removido.")


def install_page_errors(app: FastAPI) -> None:
    handlers: list[tuple[Any, Any]] = [
        (LoginRequired, _login),
        (CsrfRefused, _csrf),
        (ModuleDown, _down),
        (ApiError, _api),
        (404, _not_found),
    ]
    for key, handler in handlers:
        app.add_exception_handler(key, handler)
