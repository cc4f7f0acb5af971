"""What the browser tests share that is not a fixture (the fixtures ``server`` and
``browser`` are in this folder's conftest.py):

* ``Server``: ``server.url``, ``server.db_url``; ``server.run(coro_fn)`` runs
  ``coro_fn(session)`` in one committed transaction on the server's database (seeding
  through the domain functions).
* ``new_page(browser, server)`` opens a page in a fresh context (its own cookies).
* ``sign_in(page, email, password)``, ``visit(page, name)``: ``visit`` runs axe (zero
  violations), checks that nothing scrolls sideways, and saves ``test-artifacts/<name>.png``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

from tests.support import outside_loop
from timebank.db import make_engine, make_sessionmaker, transaction

ROOT = Path(__file__).resolve().parent.parent.parent.parent
ARTIFACTS = ROOT / "test-artifacts"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
T = TypeVar("T")


@dataclass
class Server:
    url: str
    db_url: str

    def run(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """``work(session)`` in one committed transaction on the server's database."""

        async def go() -> T:
            engine = make_engine(self.db_url)
            try:
                async with transaction(make_sessionmaker(engine)) as session:
                    return await work(session)
            finally:
                await engine.dispose()

        return outside_loop(asyncio.run, go())


def new_page(browser: Any, server: Server, **context: Any) -> Any:
    """A page in a fresh browser context (own cookies); German unless told otherwise."""
    context.setdefault("locale", "de-DE")
    context.setdefault("viewport", {"width": 1280, "height": 900})
    page = browser.new_context(base_url=server.url, **context).new_page()
    page.set_default_timeout(30_000)
    return page


def sign_in(page: Any, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("E-Mail-Adresse").fill(email)
    page.get_by_label("Passwort").fill(password)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_load_state()
    assert "/login" not in page.url, page.content()


def axe_violations(page: Any) -> list[dict[str, Any]]:
    # Evaluated through the browser's debugging protocol, not added as a <script>: the
    # pages' Content-Security-Policy refuses inline script (timebank/web/headers.py).
    page.evaluate(AXE.read_text())
    return page.evaluate(  # type: ignore[no-any-return]
        """async () => {
            const result = await axe.run(document);
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(" ")),
            }));
        }"""
    )


def scrolls_sideways(page: Any) -> bool:
    return bool(page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth + 1"))


def visit(page: Any, name: str) -> None:
    """Check the page the browser shows now: axe finds nothing, nothing scrolls sideways;
    keep a screenshot as a test artefact."""
    page.wait_for_load_state()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    assert axe_violations(page) == [], f"axe on {name} ({page.url})"
    assert not scrolls_sideways(page), f"{name} scrolls sideways at {page.viewport_size}"
