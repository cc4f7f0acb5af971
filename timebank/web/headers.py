"""The headers every answer carries, set in one place: a ``before_send`` hook (app.py installs
it) sees every response the app sends — pages, the API, error answers, even a 404 or 405 the
router gives before any handler or middleware runs, static files and the OpenAPI page.

* A Content-Security-Policy that allows nothing but this site, and no inline script or style
  at all: the pages need none (the login sheet's print button is ``static/print.js``; the API
  reference at ``/schema`` is drawn on the server, see ``web/openapi.py``).
* No framing (``frame-ancestors 'none'``, and X-Frame-Options for older browsers), no MIME
  sniffing, no referrer to other sites.
* ``Cache-Control: no-store`` on everything but the static files: every page of a signed-in
  member shows personal data, the login sheet shows a new password, the sign-in page carries a
  CSRF token, and the API answers with balances. Static files may be cached.
* A correct ``Allow`` on ``OPTIONS`` and 405 answers (see ``allowed_methods``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Litestar
from litestar.datastructures import MutableScopeHeaders
from litestar.exceptions import MethodNotAllowedException
from litestar.types import Message, Scope
from litestar.utils import normalize_path

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

# A method no route of ours answers: asking the router for it yields the route's methods.
_NO_ROUTE_ANSWERS = "TRACE"

BeforeSend = Callable[[Message, Scope], Awaitable[None]]


def allowed_methods(app: Litestar, path: str) -> str | None:
    """The methods the route at ``path`` answers, as an ``Allow`` value; None without a route.

    Litestar 2.25 gets this wrong in two ways: its automatic OPTIONS answer lists only the
    methods of the first handler registered at a path (``/login`` answered ``GET, OPTIONS``,
    not ``GET, OPTIONS, POST``), and our error handlers (web/errors.py) build a fresh answer for
    a 405 that drops the router's ``Allow``. The router itself knows every method of a path: it
    names them when it refuses one, so we ask it with a method nobody routes."""
    try:
        app.asgi_router.handle_routing(path=normalize_path(path), method=_NO_ROUTE_ANSWERS)
    except MethodNotAllowedException as refusal:
        allow = (refusal.headers or {}).get("allow")
        if allow:
            return ", ".join(sorted(m.strip() for m in allow.split(",")))
    except Exception:  # no route (404) or a bad path: nothing to allow
        return None
    return None


def security_headers(*, cacheable: tuple[str, ...]) -> BeforeSend:
    """The ``before_send`` hook; paths starting with one of ``cacheable`` (the static files)
    keep their own caching, everything else gets ``no-store``."""

    async def before_send(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = MutableScopeHeaders.from_message(message)
        for name, value in SECURITY_HEADERS.items():
            headers[name] = value
        path: str = scope.get("path", "")
        if root_path := scope.get("root_path", ""):
            path = path.split(root_path, maxsplit=1)[-1]
        if not path.startswith(cacheable):
            headers["Cache-Control"] = "no-store"
        status = message["status"]
        method = scope.get("method")
        if status == 405 or (method == "OPTIONS" and 200 <= status < 300):
            app: Any = scope.get("app")
            allow = allowed_methods(app, path) if isinstance(app, Litestar) else None
            if allow:
                headers["Allow"] = allow

    return before_send
