"""Cross-site request forgery: every page form carries a token tied to the browser's session.

The token is an HMAC, under the app's secret, of the session cookie; a visitor without a
session gets a random pre-session cookie (``tb_visitor``, HttpOnly) and a token of that. A
posted form (or a request with an ``X-CSRFToken`` header) must carry the token of the
cookies it arrives with, so a token taken from another session, or from a page drawn before
signing in, is refused; sign-in and sign-out rotate it (``rotate``). Nothing is stored: the
token is recomputed from the cookies on every request.

Templates keep Litestar's ``csrf_input`` (the hidden ``_csrf_token`` field) and
``csrf_token()``; a readable ``csrftoken`` cookie holds a copy of the current token for
scripts. The JSON API (``/api/``) authenticates with bearer tokens, never with cookies, and
is exempt; so is the one-click unsubscribe post, which carries a signed token of its own.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.enums import RequestEncodingType
from litestar.utils.scope.state import ScopeState

from timebank import signin
from timebank.errors import Forbidden

if TYPE_CHECKING:
    from litestar import Request
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

CSRF_COOKIE = "csrftoken"
VISITOR_COOKIE = "tb_visitor"
FORM_FIELD = "_csrf_token"
HEADER = "x-csrftoken"
EXEMPT_PREFIX = "/api/"
# One-click unsubscribe from an email (RFC 8058): the mail program posts without cookies or
# form token. The signed token in the address is the check (timebank.web.pages.inbox), and
# all such a post can do is turn email off. Only the check is skipped, not the middleware.
TOKEN_CHECKED_PREFIX = "/unsubscribe/"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_SCOPE_KEY = "timebank_csrf"


class StaleForm(Forbidden):
    """The form's token does not belong to this browser's session (or is missing)."""

    code = "csrf"


def token_for(secret: str, *, session: str | None, visitor: str | None) -> str:
    # The prefixes keep a session token and a visitor value that happen to be equal apart.
    basis = f"session:{session}" if session else f"visitor:{visitor or ''}"
    return hmac.new(secret.encode(), basis.encode(), hashlib.sha256).hexdigest()


@dataclass
class _Binding:
    """The token of this request, and what changed while the handler ran."""

    secret: str
    token: str
    new_visitor: str | None = None


def rotate(request: Request[Any, Any, Any], session_token: str | None) -> None:
    """Sign-in (the new session's token) and sign-out (``None``: a fresh visitor): the
    page drawn next carries a token of the new state, and the old one stops working."""
    binding: _Binding | None = request.scope.get("state", {}).get(_SCOPE_KEY)
    if binding is None:  # an app without the middleware
        return
    if session_token is None:
        binding.new_visitor = secrets.token_urlsafe(32)
    binding.token = token_for(binding.secret, session=session_token, visitor=binding.new_visitor)
    ScopeState.from_scope(request.scope).csrf_token = binding.token


class SessionCsrfMiddleware:
    """Checks the token of every unsafe request to the pages and keeps the cookies in step.

    A refusal is a ``StaleForm`` (403): the error pages show it in the visitor's language."""

    def __init__(self, app: ASGIApp, *, secret: str, secure: bool) -> None:
        self.app = app
        self.secret = secret
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(EXEMPT_PREFIX):
            await self.app(scope, receive, send)
            return
        request: Request[Any, Any, Any] = scope["litestar_app"].request_class(scope, receive)
        cookies = request.cookies
        visitor = cookies.get(VISITOR_COOKIE)
        session = cookies.get(signin.SESSION_COOKIE)
        binding = _Binding(self.secret, "")
        if not session and not visitor:
            visitor = binding.new_visitor = secrets.token_urlsafe(32)
        binding.token = token_for(self.secret, session=session, visitor=visitor)
        if request.method not in SAFE_METHODS and not request.url.path.startswith(
            TOKEN_CHECKED_PREFIX
        ):
            sent = request.headers.get(HEADER)
            if not sent and request.content_type[0] in (
                RequestEncodingType.URL_ENCODED,
                RequestEncodingType.MULTI_PART,
            ):
                value = (await request.form()).get(FORM_FIELD)
                sent = value if isinstance(value, str) else None
            if not sent or not hmac.compare_digest(sent.encode(), binding.token.encode()):
                raise StaleForm(
                    "this form is out of date or was not sent from this site: "
                    "go back, reload the page and send it again"
                )
        scope.setdefault("state", {})[_SCOPE_KEY] = binding
        ScopeState.from_scope(scope).csrf_token = binding.token
        secure = self.secure or scope.get("scheme") == "https"

        async def send_with_cookies(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                if binding.new_visitor:
                    headers.add(
                        "set-cookie", self._cookie(VISITOR_COOKIE, binding.new_visitor, secure)
                    )
                if cookies.get(CSRF_COOKIE) != binding.token:
                    headers.add("set-cookie", self._cookie(CSRF_COOKIE, binding.token, secure))
            await send(message)

        await self.app(scope, receive, send_with_cookies)

    @staticmethod
    def _cookie(key: str, value: str, secure: bool) -> str:
        # The token's copy is readable by the page's own scripts; the visitor value is not.
        cookie = Cookie(
            key=key,
            value=value,
            path="/",
            samesite="lax",
            secure=secure,
            httponly=key != CSRF_COOKIE,
        )
        return cookie.to_header(header="")
