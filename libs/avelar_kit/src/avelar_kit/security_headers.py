"""Security headers on every answer (the kit frame's middleware adds them: avelar_kit.middleware;
issue 9).

- every answer: ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY``,
  ``Referrer-Policy: no-referrer`` and a Content-Security-Policy: ``default-src 'none'`` for
  JSON and everything that is not HTML (an API answer never runs anything), and for HTML (the
  Swagger UI / ReDoc pages) one that allows only what those pages load;
- an answer to a request that carried credentials (``Authorization``) gets
  ``Cache-Control: no-store`` unless the route set its own ``Cache-Control``.

Headers a route set itself are kept. The server banner is off in ``<module> serve``
(uvicorn ``server_header=False``, ``avelar_kit.ops.serve``).
"""

from __future__ import annotations

from typing import Any

_API_CSP = b"default-src 'none'; frame-ancestors 'none'"
# FastAPI's /docs and /redoc pages: their scripts and styles come from jsDelivr, an inline
# script starts them, and the favicon comes from fastapi.tiangolo.com.
_HTML_CSP = (b"default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
             b"style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net "
             b"https://fonts.googleapis.com; font-src 'self' https://fonts.gstatic.com; "
             b"img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
             b"worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; "
             b"base-uri 'none'; form-action 'self'")
_ALWAYS = ((b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
           (b"referrer-policy", b"no-referrer"))


_OURS = frozenset({name for name, _ in _ALWAYS} | {b"content-security-policy", b"cache-control"})


def with_security_headers(message: Any, authenticated: bool,
                          *extra: tuple[bytes, bytes]) -> Any:
    """The ``http.response.start`` message with the security headers a route did not set
    itself, and ``extra`` headers (the request id), as a new message. One pass over the
    route's headers (every answer comes through here)."""
    headers = list(message.get("headers", ()))
    present: set[bytes] = set()
    html = False
    for key, value in headers:
        name = key.lower()
        if name in _OURS:
            present.add(name)
        elif name == b"content-type" and value.startswith(b"text/html"):
            html = True
    if not present:
        headers += _ALWAYS
    else:
        headers += [(n, v) for n, v in _ALWAYS if n not in present]
    if b"content-security-policy" not in present:
        headers.append((b"content-security-policy", _HTML_CSP if html else _API_CSP))
    if authenticated and b"cache-control" not in present:
        headers.append((b"cache-control", b"no-store"))
    headers += extra
    return {**message, "headers": headers}
