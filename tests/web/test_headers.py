"""The headers of every answer (timebank/web/headers.py), pages that load nothing from
elsewhere and run no inline script, the offline API reference at ``/schema``, and the
``Allow`` header of OPTIONS and 405 answers.

The walk takes the GET routes from the app's own route table, so a route added later is
walked too: as a visitor, as a volunteer and as the manager (with a bearer token as well, so
the API answers with personal data)."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from litestar.routes import HTTPRoute

from tests.support import PASSWORD, World, bearer
from tests.web.support import Client, sign_in
from timebank.web.headers import allowed_methods

ROOT = Path(__file__).resolve().parents[2]
STATIC = "/static/"
# Paths no route table lists but the app answers: the router's own 404s, the schema's.
EXTRA_PATHS = ("/no/such/page", "/api/v1/no-such-thing", "/schema/redoc", "/static/missing.css")


# --- Walking the app's GET routes -------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    who: str
    path: str
    status: int
    headers: dict[str, str]
    text: str


def http_routes(client: Client) -> list[HTTPRoute]:
    return [r for r in client.app.routes if isinstance(r, HTTPRoute)]


def filled(route: HTTPRoute, world: World) -> str:
    """The route's path with its parameters filled in: ids of the world's volunteer (a
    refusal or a 404 must carry the headers as much as a page does), a real static file."""
    values: dict[str, Any] = {}
    for name, definition in route.path_parameters.items():
        if definition.type is int:
            values[name] = world.volunteer.id
        elif definition.type is Path:
            values[name] = "timebank.css"
        else:
            values[name] = "nothing-here"
    return route.path_format.format(**values)


def get_paths(client: Client, world: World) -> list[str]:
    paths = [filled(r, world) for r in http_routes(client) if "GET" in r.methods]
    return [*paths, "/static/print.js", "/static/reference.css", *EXTRA_PATHS]


async def walk(client: Client, world: World, tokens: dict[str, str]) -> list[Seen]:
    seen: list[Seen] = []
    for who, email in (
        ("visitor", None),
        ("volunteer", "volker@example.org"),
        ("manager", "manager@example.org"),
    ):
        client.cookies.clear()
        headers = {}
        if email:
            await sign_in(client, email, PASSWORD)
            headers = bearer(tokens[who])
        for path in get_paths(client, world):
            answer = await client.get(path, headers=headers, follow_redirects=False)
            seen.append(Seen(who, path, answer.status_code, dict(answer.headers), answer.text))
    return seen


def csp_directives(value: str) -> dict[str, list[str]]:
    directives = {}
    for part in value.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


def header_faults(answer: Seen) -> list[str]:
    h = {k.lower(): v for k, v in answer.headers.items()}
    faults = []
    csp = csp_directives(h.get("content-security-policy", ""))
    if csp.get("default-src") != ["'self'"]:
        faults.append(f"default-src is {csp.get('default-src')}")
    if csp.get("frame-ancestors") != ["'none'"]:
        faults.append(f"frame-ancestors is {csp.get('frame-ancestors')}")
    scripts = csp.get("script-src", csp.get("default-src", []))
    if any(s in ("'unsafe-inline'", "'unsafe-eval'", "*") for s in scripts):
        faults.append(f"script-src allows {scripts}")
    if h.get("x-frame-options") != "DENY":
        faults.append(f"X-Frame-Options is {h.get('x-frame-options')}")
    if h.get("x-content-type-options") != "nosniff":
        faults.append(f"X-Content-Type-Options is {h.get('x-content-type-options')}")
    if h.get("referrer-policy") not in ("same-origin", "strict-origin-when-cross-origin"):
        faults.append(f"Referrer-Policy is {h.get('referrer-policy')}")
    cache = h.get("cache-control", "")
    if answer.path.startswith(STATIC):
        if answer.status == 200 and "no-store" in cache:
            faults.append("a static file is no-store")  # nothing personal: may be cached
    elif "no-store" not in cache:
        faults.append(f"Cache-Control is {cache!r}, not no-store")
    return [f"{answer.who}: GET {answer.path} ({answer.status}): {f}" for f in faults]


async def test_every_answer_carries_the_security_headers_and_no_page_runs_inline_script(
    client: Client, world: World, tokens: dict[str, str]
) -> None:
    walked = await walk(client, world, tokens)
    faults = [fault for answer in walked for fault in header_faults(answer)]
    assert faults == []
    # No page has inline script or style, or loads anything from elsewhere (page_faults).
    faults = [
        f"{a.who}: GET {a.path}: {fault}"
        for a in walked
        if a.headers.get("content-type", "").startswith("text/html")
        for fault in page_faults(a.text)
    ]
    assert faults == []
    # Not a walk of refusals only: each of them saw pages and API answers of their own.
    ok = {(a.who, a.path) for a in walked if a.status == 200}
    for who in ("volunteer", "manager"):
        statement = f"/members/{world.volunteer.id}/statement"
        assert {(who, "/home"), (who, "/api/v1/me"), (who, statement)} <= ok
    assert ("manager", f"/manage/members/{world.volunteer.id}/login-sheet") in ok
    assert ("visitor", "/login") in ok and ("visitor", "/schema") in ok
    assert ("visitor", "/static/timebank.css") in ok


# --- Nothing inline, nothing from elsewhere ---------------------------------------------------


class _PageParser(HTMLParser):
    """What a Content-Security-Policy of 'self' without 'unsafe-inline' would block: inline
    script (a <script> without src, an on…= handler, a javascript: link), inline style
    (<style>, style=), and anything loaded from another site."""

    def __init__(self) -> None:
        super().__init__()
        self.faults: list[str] = []
        self._inline_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): v or "" for k, v in attrs}
        for name, value in a.items():
            if name.startswith("on"):
                self.faults.append(f"<{tag} {name}=…> (an inline handler)")
            if name == "style":
                self.faults.append(f"<{tag} style=…> (an inline style)")
            if name in ("href", "src", "action", "formaction") and value.strip().lower().startswith(
                "javascript:"
            ):
                self.faults.append(f"<{tag} {name}={value!r}>")
        if tag == "style":
            self.faults.append("<style> (an inline style sheet)")
        if tag == "script":
            self._inline_script = not a.get("src")
        loaded = {"script": "src", "link": "href", "img": "src", "iframe": "src", "source": "src"}
        url = a.get(loaded.get(tag, ""), "")
        if url and (url.startswith("//") or "://" in url):
            self.faults.append(f"<{tag}> loads {url} from elsewhere")

    def handle_data(self, data: str) -> None:
        if self._inline_script and data.strip():
            self.faults.append(f"an inline <script>: {data.strip()[:60]!r}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._inline_script = False


def page_faults(html: str) -> list[str]:
    parser = _PageParser()
    parser.feed(html)
    return parser.faults


def test_the_page_checker_sees_what_the_policy_blocks() -> None:
    bad = (
        '<script>alert(1)</script><button onclick="print()">p</button><p style="color:red">'
        '<style>p{}</style><link rel="stylesheet" href="https://fonts.example/x.css">'
        '<script src="//cdn.example/redoc.js"></script><a href="javascript:go()">x</a>'
    )
    assert len(page_faults(bad)) == 7
    assert page_faults('<script src="/static/print.js"></script><link href="/static/a.css">') == []


def test_no_template_has_inline_script_or_style() -> None:
    # Also the branches the walk does not reach (a form with errors, a full board…).
    faults = [
        f"{template.relative_to(ROOT)}: {fault}"
        for template in sorted((ROOT / "templates").rglob("*.html"))
        for fault in page_faults(template.read_text())
    ]
    assert faults == []


# --- The API reference, offline ---------------------------------------------------------------


async def test_the_api_reference_is_drawn_here_and_lists_every_operation(client: Client) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    answer = await client.get("/schema")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    html = answer.text
    assert page_faults(html) == []
    assert "<script" not in html and "http://" not in html and "https://" not in html
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert f'id="{operation["operationId"]}"' in html, (method, path)
            assert f"{method.upper()}</span> {path}" in html
            for parameter in operation.get("parameters", []):
                assert f"<code>{parameter['name']}</code>" in html
    for name, schema in document["components"]["schemas"].items():
        assert f'id="schema-{name}"' in html
        for field in schema.get("properties", {}):
            assert f"<code>{field}</code>" in html
    # What the code enforces is shown, e.g. the statement's page size.
    assert "1 – 500; default 50" in html
    # Its stylesheets are ours and are there.
    for sheet in ("/static/timebank.css", "/static/reference.css"):
        assert f'href="{sheet}"' in html
        assert (await client.get(sheet)).status_code == 200


async def test_litestar_s_cdn_renderers_are_not_served(client: Client) -> None:
    for path in ("/schema/redoc", "/schema/swagger", "/schema/elements", "/schema/rapidoc"):
        assert (await client.get(path)).status_code == 404, path


# --- Allow on OPTIONS and 405 -----------------------------------------------------------------


def methods_of(allow: str) -> list[str]:
    return sorted(m.strip() for m in allow.split(","))


async def test_options_names_every_method_of_a_page_route_and_an_api_route(
    client: Client,
) -> None:
    # Litestar 2.25 named only the methods of the first handler registered at a path.
    for path, methods in (
        ("/login", ["GET", "OPTIONS", "POST"]),
        ("/manage/members/1", ["GET", "OPTIONS", "POST"]),
        ("/api/v1/accounts/1", ["GET", "OPTIONS", "PATCH"]),
        ("/api/v1/me", ["GET", "OPTIONS"]),
    ):
        answer = await client.options(path)
        assert answer.status_code == 204, path
        assert methods_of(answer.headers["allow"]) == methods, path


async def test_a_wrong_method_is_a_405_that_names_the_route_s_methods(client: Client) -> None:
    # The error handlers drew a fresh answer and dropped the router's Allow.
    for method, path, methods, kind in (
        ("DELETE", "/login", ["GET", "OPTIONS", "POST"], "text/html"),
        ("PUT", "/exchanges/new", ["GET", "OPTIONS", "POST"], "text/html"),
        ("PUT", "/api/v1/accounts/1", ["GET", "OPTIONS", "PATCH"], "application/json"),
        ("DELETE", "/api/v1/exchanges", ["OPTIONS", "POST"], "application/json"),
    ):
        answer = await client.request(method, path)
        assert answer.status_code == 405, (method, path)
        assert answer.headers["content-type"].startswith(kind)
        assert methods_of(answer.headers["allow"]) == methods, (method, path)


async def test_every_route_s_allow_is_its_methods(client: Client, world: World) -> None:
    for route in http_routes(client):
        path = filled(route, world)
        expected = sorted(route.methods)
        assert allowed_methods(client.app, path) == ", ".join(expected), path
        options = await client.options(path)
        assert methods_of(options.headers.get("allow", "")) == expected, path
        refused = next(m for m in ("PUT", "DELETE", "PATCH", "POST") if m not in route.methods)
        answer = await client.request(refused, path)
        assert answer.status_code == 405, (refused, path)
        assert methods_of(answer.headers.get("allow", "")) == expected, (refused, path)
