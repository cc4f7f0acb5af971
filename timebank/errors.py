"""The errors domain functions raise. Each has a stable ``code`` the API returns as is;
the web layer (``app.py``) maps the classes to HTTP status codes."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "error"

    def __init__(self, detail: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
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
