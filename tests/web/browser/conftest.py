"""Browser tests: a real server process on a real PostgreSQL database, driven by headless
Chromium through Playwright, with axe-core checking every page visited.

Without Chromium, Playwright or axe-core (``npm install --no-save --no-package-lock
axe-core`` at the repository root) these tests are skipped, unless
TIMEBANK_REQUIRE_BROWSER=1 (set by CI), which turns the skip into a failure.

Fixtures and functions for other browser test modules:

* ``server`` (per module): ``server.url``, ``server.db_url``; ``server.run(coro_fn)`` runs
  ``coro_fn(session)`` in one committed transaction on the server's database (seeding
  through the domain functions).
* ``browser`` (per module): a launched Chromium; ``new_page(browser, server)`` opens a page
  in a fresh context (its own cookies).
* ``sign_in(page, email)``, ``visit(page, name)``: ``visit`` runs axe (zero violations),
  checks that nothing scrolls sideways, and saves ``test-artifacts/<name>.png``.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.conftest import _admin, outside_loop, with_database
from timebank.db import make_engine, make_sessionmaker, transaction

ROOT = Path(__file__).resolve().parent.parent.parent
ARTIFACTS = ROOT / "test-artifacts"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = Path("/usr/bin/chromium")
REQUIRE_BROWSER = os.environ.get("TIMEBANK_REQUIRE_BROWSER") == "1"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SECRET = "browser-tests-secret-key-0123456789"
T = TypeVar("T")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


def _unavailable(reason: str) -> None:
    if REQUIRE_BROWSER:
        pytest.fail(f"the browser tests are required (TIMEBANK_REQUIRE_BROWSER=1) but {reason}")
    pytest.skip(f"browser tests skipped: {reason}")


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

        return outside_loop(asyncio.run, go())  # type: ignore[no-any-return]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_serving(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    # A start-up guard, not a timed assertion: give up only when the server clearly hangs.
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited at start:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url + "/login", timeout=5) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def server(postgres_url: str, pg_template: str, request: pytest.FixtureRequest) -> Iterator[Server]:
    """``timebank`` served by uvicorn in its own process, on a fresh PostgreSQL database."""
    name = f"tb_browser_{uuid.uuid4().hex[:10]}"
    create = f"CREATE DATABASE {name} TEMPLATE {pg_template}"
    outside_loop(asyncio.run, _admin(postgres_url, create))
    db_url = with_database(postgres_url, name)
    port = _free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    log = ARTIFACTS / f"server-{request.module.__name__.rsplit('.', 1)[-1]}.log"
    env = {
        **os.environ,
        "TIMEBANK_ENV": "production",
        "TIMEBANK_DATABASE_URL": db_url,
        "TIMEBANK_SECRET_KEY": SECRET,
        "TIMEBANK_SCHEDULER": "0",
        "TIMEBANK_BASE_URL": f"http://127.0.0.1:{port}",
    }
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "timebank.web.app:create_app",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(url, process, log)
        yield Server(url=url, db_url=db_url)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        outside_loop(
            asyncio.run, _admin(postgres_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        )


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install playwright)")
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    if not AXE.exists():
        _unavailable("axe-core is missing (npm install --no-save --no-package-lock axe-core)")
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            headless=True, executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()
    finally:
        playwright.stop()


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
    page.add_script_tag(path=str(AXE))
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
