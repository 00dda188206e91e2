"""``Page``: what every page handler gets (the person's session, the API client, the menu) and
how it answers (a template, a redirect), with the session's cookie changes applied."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from avelar_web.api import Api, ApiError, ModuleDown, client_address
from avelar_web.config import WebSettings
from avelar_web.session import LoginRequired, Session, csrf_token_for

log = logging.getLogger("avelar_web")

# The role matrices of the modules (services/*/permissions.py), as the portal mirrors them to
# hide what a role may not do; the APIs enforce them whatever the portal shows.
ADMIN_ONLY = frozenset({
    "stocktech.products.delete",
    "lucrum.bank_accounts.create", "lucrum.bank_accounts.update", "lucrum.bank_accounts.delete",
    "lucrum.categories.create", "lucrum.entries.delete", "lucrum.transfers.delete",
    "avadmin.users.manage", "avadmin.billing", "avadmin.account.update",
})


@dataclass
class Page:
    request: Request
    session: Session
    api: Api
    settings: WebSettings
    templates: Jinja2Templates
    secret: bytes

    # -- who ----------------------------------------------------------------------------------
    @property
    def claims(self) -> dict[str, Any]:
        return self.session.claims

    @property
    def role(self) -> str:
        return str(self.claims.get("role", ""))

    @property
    def modules(self) -> list[str]:
        return [str(m) for m in self.claims.get("enabled_modules") or []]

    def can(self, action: str) -> bool:
        if not self.session.logged_in or self.session.is_operator:
            return False
        return action not in ADMIN_ONLY or self.role == "admin"

    def has(self, module: str) -> bool:
        return module in self.modules

    def here(self) -> str:
        url = self.request.url
        return url.path + (f"?{url.query}" if url.query else "")

    def return_path(self) -> str:
        """Where to come back after logging in again: this page, or for a form the page it was
        sent from (the Referer's path, when it is this site's)."""
        if self.request.method == "GET":
            return self.here()
        referer = urlsplit(self.request.headers.get("referer", ""))
        if referer.netloc == self.request.url.netloc and referer.path.startswith("/"):
            return referer.path + (f"?{referer.query}" if referer.query else "")
        return "/painel"

    def require_user(self) -> None:
        if not self.session.logged_in or self.session.is_operator:
            raise LoginRequired(self.here())

    def require_operator(self) -> None:
        if not self.session.is_operator:
            raise LoginRequired(self.here(), operator=True)

    def require_module(self, module: str) -> None:
        self.require_user()
        if not self.has(module):
            raise ApiError(403, f"O plano da sua empresa não inclui o {module}.",
                           "module_not_enabled")

    @property
    def token(self) -> str | None:
        return self.session.access

    # -- API ----------------------------------------------------------------------------------
    async def call(self, module: str, method: str, path: str, **kwargs: Any) -> Any:
        try:
            return await self.api.call(module, method, path, token=self.token, **kwargs)
        except ApiError as exc:
            if exc.status == 401 and self.session.logged_in:
                self.session.clear()
                raise LoginRequired(self.return_path(),
                                    operator=self.session.is_operator) from None
            raise

    async def try_call(self, module: str, method: str, path: str, **kwargs: Any
                       ) -> tuple[Any, str | None]:
        """(data, None), or (None, notice) when the module is down or refuses: for the parts
        of a page that may be missing while the rest is shown."""
        try:
            return await self.call(module, method, path, **kwargs), None
        except ModuleDown as exc:
            return None, f"O {exc.module} está indisponível no momento; tente mais tarde."
        except ApiError as exc:
            if exc.status == 401:
                raise
            return None, exc.message

    # -- answers ------------------------------------------------------------------------------
    @property
    def csrf(self) -> str:
        return csrf_token_for(self.secret, self.session.csrf_cookie)

    def render(self, template: str, status_code: int = 200, **values: Any) -> Response:
        values.setdefault("errors", {})
        values.setdefault("form", {})
        response = self.templates.TemplateResponse(
            self.request, template, {"page": self, **values}, status_code=status_code)
        return self.session.apply(response)

    def redirect(self, url: str, flash: str | None = None) -> Response:
        if flash:
            sep = "&" if "?" in url else "?"
            url = f"{url}{sep}ok={quote(flash)}"
        if self.request.headers.get("hx-request"):
            response: Response = HTMLResponse("", headers={"HX-Redirect": url})
        else:
            response = RedirectResponse(url, status_code=303)
        return self.session.apply(response)

    @property
    def flash(self) -> str | None:
        return self.request.query_params.get("ok")

    async def form(self) -> dict[str, str]:
        data = await self.request.form()
        return {k: v for k, v in data.items() if isinstance(v, str)}


def _secure(request: Request, settings: WebSettings) -> bool:
    if settings.cookie_secure is not None:
        return settings.cookie_secure
    return request.url.scheme == "https"


async def get_page(request: Request) -> Page:
    """The request's ``Page``; the access token is refreshed when about to expire."""
    app = request.app
    settings: WebSettings = app.state.settings
    if request.client is not None:
        client_address.set(request.client.host)
    session = Session.from_request(request, _secure(request, settings))
    needs_refresh = session.refresh and (
        not session.access or session.expires_in() < settings.refresh_margin_seconds)
    if needs_refresh and session.kind == "user":
        try:
            pair = await app.state.api.call("AvAdmin", "POST", "/api/auth/refresh",
                                            json={"refresh_token": session.refresh})
            session.store_tokens(pair["access_token"], pair["refresh_token"],
                                 new_session=False)
        except ApiError:
            session.clear()
        except ModuleDown:
            pass
    elif session.access and session.expires_in() <= 0:
        session.clear()
    page = Page(request, session, app.state.api, settings, app.state.templates,
                app.state.secret)
    request.state.page = page
    return page


