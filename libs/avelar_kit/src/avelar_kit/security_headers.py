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


def with_security_headers(message: Any, authenticated: bool,
                          *extra: tuple[bytes, bytes]) -> Any:
    """The ``http.response.start`` message with the security headers a route did not set
    itself, and ``extra`` headers (the request id), as a new message."""
    headers = list(message.get("headers", ()))
    present = {k.lower() for k, _ in headers}
    for name, value in _ALWAYS:
        if name not in present:
            headers.append((name, value))
    if b"content-security-policy" not in present:
        html = any(k.lower() == b"content-type" and v.startswith(b"text/html")
                   for k, v in headers)
        headers.append((b"content-security-policy", _HTML_CSP if html else _API_CSP))
    if authenticated and b"cache-control" not in present:
        headers.append((b"cache-control", b"no-store"))
    headers.extend(extra)
    return {**message, "headers": headers}
