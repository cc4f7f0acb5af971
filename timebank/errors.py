"""The errors domain functions raise. Each has a stable ``code`` the API returns as is;
the web layer (``web/errors.py``) maps the classes to HTTP status codes.

``detail`` is an English message id with ``{name}`` placeholders, never a finished sentence:
the edge renders it in the reader's language with ``i18n.render(language, exc.detail,
exc.params)`` (hours as ``i18n.Minutes``, dates as ``date``). So no f-string builds the text
of an error: the id must be the same for every occurrence, or it can never be translated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class DomainError(Exception):
    code = "error"

    def __init__(
        self,
        detail: str,
        *,
        field: str | None = None,
        params: Mapping[str, object] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.params: dict[str, object] = dict(params or {})
        self.extra = extra


class NotFound(DomainError):
    code = "not_found"


class Forbidden(DomainError):
    code = "forbidden"


class Invalid(DomainError):
    """The input breaks a rule; ``field`` names the input at fault when there is one."""

    code = "validation"


class Conflict(DomainError):
    """The request is well-formed but the state of things forbids it now."""

    code = "conflict"
