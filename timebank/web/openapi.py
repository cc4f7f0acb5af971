"""The API reference at ``/schema``, drawn on the server from the OpenAPI document.

Litestar's own renderers (Redoc, Swagger, Stoplight, RapiDoc, Scalar) load their script, fonts
and icons from CDNs — the page was blank offline — and run inline script, which our
Content-Security-Policy forbids. This page needs no script at all: every operation with its
parameters, request body and answers, then every schema with its fields and their limits, as
plain HTML with the site's stylesheet. ``/schema/openapi.json`` stays the machine-readable
document (clients and Schemathesis read it).

The reference is in English, like the API it describes: its summaries, field descriptions and
error details all are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.openapi.plugins import OpenAPIRenderPlugin
from markupsafe import Markup, escape

TEMPLATE = "schema/reference.html"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
REF_PREFIX = "#/components/schemas/"


@dataclass(frozen=True)
class Part:
    """A piece of a type as the page writes it: a word, or a link to a named schema."""

    text: str
    ref: str | None = None


@dataclass(frozen=True)
class Field:
    name: str
    type: tuple[Part, ...]
    required: bool
    limits: str
    description: str
    place: str = ""  # a parameter's: path, query, header or cookie


@dataclass(frozen=True)
class Body:
    """A request body or an answer's body: its type and, when it is written out in place
    rather than named, its fields."""

    type: tuple[Part, ...]
    fields: tuple[Field, ...]
    description: str = ""


@dataclass(frozen=True)
class Answer:
    status: str
    description: str
    body: Body | None


@dataclass(frozen=True)
class Operation:
    anchor: str
    method: str
    path: str
    summary: str
    description: str
    parameters: tuple[Field, ...]
    body: Body | None
    body_required: bool
    answers: tuple[Answer, ...]


@dataclass(frozen=True)
class Schema:
    name: str
    description: str
    fields: tuple[Field, ...]
    closed: bool  # additionalProperties: false — other fields are refused


def prose(text: str) -> Markup:
    """A description as HTML: escaped, with its `code` spans (the API's descriptions name
    fields and codes that way) as ``<code>``."""
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text))))


def _number(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def type_of(schema: dict[str, Any]) -> tuple[Part, ...]:
    """``integer``, ``string (date)``, ``array of`` → ``StatementLineOut``, ``string or null``."""
    if "$ref" in schema:
        name = str(schema["$ref"]).removeprefix(REF_PREFIX)
        return (Part(name, ref=name),)
    for combiner in ("oneOf", "anyOf"):
        if combiner in schema:
            parts: list[Part] = []
            for i, choice in enumerate(schema[combiner]):
                if i:
                    parts.append(Part(" or "))
                parts.extend(type_of(choice))
            return tuple(parts)
    if "allOf" in schema:
        parts = []
        for i, choice in enumerate(schema["allOf"]):
            if i:
                parts.append(Part(" and "))
            parts.extend(type_of(choice))
        return tuple(parts)
    kind = schema.get("type")
    if isinstance(kind, list):
        return (Part(" or ".join(str(k) for k in kind)),)
    if kind == "array":
        return (Part("array of "), *type_of(schema.get("items") or {}))
    if kind is None:
        return (Part("any"),)
    text = str(kind)
    if schema.get("format"):
        text += f" ({schema['format']})"
    return (Part(text),)


_LIMITS = (
    ("minimum", "≥ {}"),
    ("exclusiveMinimum", "> {}"),
    ("maximum", "≤ {}"),
    ("exclusiveMaximum", "< {}"),
    ("minLength", "at least {} characters"),
    ("maxLength", "at most {} characters"),
    ("minItems", "at least {} items"),
    ("maxItems", "at most {} items"),
    ("pattern", "matches {}"),
)


def limits_of(schema: dict[str, Any]) -> str:
    """What the schema allows beyond its type: ``1 – 1440``, ``one of: a, b``, ``default 50``.
    Limits written on the choices of a ``oneOf`` (``integer or null`` with a maximum) count."""
    found: list[str] = []
    for choice in [schema, *schema.get("oneOf", []), *schema.get("anyOf", [])]:
        between = "minimum" in choice and "maximum" in choice
        if between:
            found.append(f"{_number(choice['minimum'])} – {_number(choice['maximum'])}")
        for key, text in _LIMITS:
            if key in choice and not (between and key in ("minimum", "maximum")):
                found.append(text.format(_number(choice[key])))
        if "enum" in choice:
            found.append("one of: " + ", ".join(str(v) for v in choice["enum"]))
        if "const" in choice:
            found.append(f"always {choice['const']}")
    if "default" in schema:
        found.append(f"default {schema['default']}")
    return "; ".join(dict.fromkeys(found))


def fields_of(schema: dict[str, Any]) -> tuple[Field, ...]:
    required = set(schema.get("required") or ())
    return tuple(
        Field(
            name=name,
            type=type_of(prop),
            required=name in required,
            limits=limits_of(prop),
            description=str(prop.get("description") or ""),
        )
        for name, prop in (schema.get("properties") or {}).items()
    )


def _body(content: dict[str, Any] | None, description: str = "") -> Body | None:
    if not content:
        return None
    media = content.get("application/json") or next(iter(content.values()))
    schema = media.get("schema") or {}
    return Body(type=type_of(schema), fields=fields_of(schema), description=description)


def operations_of(document: dict[str, Any]) -> list[Operation]:
    operations = []
    for path, item in (document.get("paths") or {}).items():
        for method in METHODS:
            op = item.get(method)
            if not op:
                continue
            params = [*(item.get("parameters") or []), *(op.get("parameters") or [])]
            request = op.get("requestBody") or {}
            operations.append(
                Operation(
                    anchor=str(op.get("operationId") or f"{method}-{path}"),
                    method=method.upper(),
                    path=path,
                    summary=str(op.get("summary") or ""),
                    description=str(op.get("description") or ""),
                    parameters=tuple(
                        Field(
                            name=str(p.get("name")),
                            type=type_of(p.get("schema") or {}),
                            required=bool(p.get("required")),
                            limits=limits_of(p.get("schema") or {}),
                            description=str(p.get("description") or ""),
                            place=str(p.get("in") or ""),
                        )
                        for p in params
                    ),
                    body=_body(request.get("content"), str(request.get("description") or "")),
                    body_required=bool(request.get("required")),
                    answers=tuple(
                        Answer(
                            status=str(status),
                            description=str(answer.get("description") or ""),
                            body=_body(answer.get("content")),
                        )
                        for status, answer in (op.get("responses") or {}).items()
                    ),
                )
            )
    return operations


def sign_in_of(document: dict[str, Any]) -> list[str]:
    """How a caller proves who they are, from the document's security schemes."""
    schemes = (document.get("components") or {}).get("securitySchemes") or {}
    found = []
    for name, scheme in sorted(schemes.items()):
        if scheme.get("type") == "http" and str(scheme.get("scheme")).lower() == "bearer":
            found.append(f"{name}: send the header Authorization: Bearer <token>")
        else:
            found.append(f"{name}: {scheme.get('type')} {scheme.get('scheme') or ''}".strip())
    return found


def schemas_of(document: dict[str, Any]) -> list[Schema]:
    named = (document.get("components") or {}).get("schemas") or {}
    return [
        Schema(
            name=name,
            description=str(schema.get("description") or ""),
            fields=fields_of(schema),
            closed=schema.get("additionalProperties") is False,
        )
        for name, schema in sorted(named.items())
    ]


class ServerRenderedReference(OpenAPIRenderPlugin):
    """Serves ``templates/schema/reference.html`` (see the module's docstring)."""

    def __init__(self, *, path: str = "/") -> None:
        super().__init__(path=path, favicon="", style="")

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        template = request.app.template_engine.get_template(TEMPLATE)  # type: ignore[union-attr]
        info = openapi_schema.get("info") or {}
        html: str = template.render(
            request=request,
            title=str(info.get("title") or "API"),
            version=str(info.get("version") or ""),
            info_description=str(info.get("description") or ""),
            json_url=self.get_openapi_json_route(request),
            sign_in=sign_in_of(openapi_schema),
            prose=prose,
            operations=operations_of(openapi_schema),
            schemas=schemas_of(openapi_schema),
        )
        return html.encode()
