"""The person's session, kept by the browser in HttpOnly, SameSite=Lax cookies (Secure over
HTTPS): the AvAdmin access and refresh tokens, and a CSRF secret. Nothing is kept in the
portal's process, so it restarts and scales without losing anyone's session.

The access token's claims are read WITHOUT verifying its signature: only to choose the menu
(modules, role) and to know when to refresh. Every decision that matters is the APIs', which
verify the token on each call.

CSRF: every form carries ``csrf`` (htmx sends it as ``X-CSRF-Token``), an HMAC of the browser's
CSRF cookie under the portal's secret; an unsafe request without a matching one is refused
(403) before any page code runs."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
from starlette.requests import Request
from starlette.responses import Response

ACCESS = "avw_access"
REFRESH = "avw_refresh"
CSRF = "avw_csrf"
KIND = "avw_kind"  # "user" or "operator"
ALL_COOKIES = (ACCESS, REFRESH, CSRF, KIND)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CsrfRefused(Exception):
    pass


class LoginRequired(Exception):
    def __init__(self, next_path: str = "/", operator: bool = False) -> None:
        super().__init__(next_path)
        self.next_path = next_path
        self.operator = operator


def claims_of(token: str | None) -> dict[str, Any]:
    if not token:
        return {}
    try:
        return dict(jwt.decode(token, options={"verify_signature": False}))
    except jwt.PyJWTError:
        return {}


def csrf_token_for(secret: bytes, cookie_value: str) -> str:
    return hmac.new(secret, cookie_value.encode(), hashlib.sha256).hexdigest()


@dataclass
class Session:
    """What one request knows of the person, and the cookie changes its response carries."""

    access: str | None
    refresh: str | None
    kind: str
    csrf_cookie: str
    secure: bool
    pending: list[tuple[str, str | None, int | None]] = field(default_factory=list)

    @classmethod
    def from_request(cls, request: Request, secure: bool) -> Session:
        cookies = request.cookies
        csrf_cookie = cookies.get(CSRF) or ""
        session = cls(cookies.get(ACCESS), cookies.get(REFRESH), cookies.get(KIND, "user"),
                      csrf_cookie, secure)
        if not csrf_cookie:
            session.csrf_cookie = secrets.token_urlsafe(32)
            session.pending.append((CSRF, session.csrf_cookie, None))
        return session

    @property
    def claims(self) -> dict[str, Any]:
        return claims_of(self.access)

    @property
    def logged_in(self) -> bool:
        return bool(self.access)

    @property
    def is_operator(self) -> bool:
        return self.logged_in and self.kind == "operator"

    def expires_in(self) -> float:
        exp = self.claims.get("exp")
        return float(exp) - time.time() if exp else -1.0

    def store_tokens(self, access: str, refresh: str | None, kind: str = "user", *,
                     new_session: bool = True) -> None:
        self.access, self.kind = access, kind
        max_age = max(60, int(self.expires_in()) + 60)
        self.pending.append((ACCESS, access, max_age))
        self.pending.append((KIND, kind, None))
        if refresh is not None:
            self.refresh = refresh
            refresh_exp = claims_of(refresh).get("exp")
            self.pending.append((REFRESH, refresh,
                                 int(float(refresh_exp) - time.time()) if refresh_exp else None))
        if not new_session:  # a refresh keeps the forms already on screen valid
            return
        # A new session gets a new CSRF secret (no fixation across logins).
        self.csrf_cookie = secrets.token_urlsafe(32)
        self.pending.append((CSRF, self.csrf_cookie, None))

    def clear(self) -> None:
        self.access = self.refresh = None
        self.kind = "user"
        self.pending = [(name, None, None) for name in ALL_COOKIES]
        self.csrf_cookie = secrets.token_urlsafe(32)
        self.pending.append((CSRF, self.csrf_cookie, None))

    def apply(self, response: Response) -> Response:
        for name, value, max_age in self.pending:
            if value is None:
                response.delete_cookie(name, path="/", secure=self.secure, httponly=True,
                                       samesite="lax")
            else:
                response.set_cookie(name, value, max_age=max_age, path="/", secure=self.secure,
                                    httponly=True, samesite="lax")
        response.headers["Cache-Control"] = "no-store"
        return response


def check_csrf(secret: bytes, session: Session, sent: str | None) -> None:
    if not sent or not session.csrf_cookie:
        raise CsrfRefused
    if not hmac.compare_digest(sent, csrf_token_for(secret, session.csrf_cookie)):
        raise CsrfRefused
