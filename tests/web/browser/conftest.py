"""Browser tests: a real server process on a real PostgreSQL database, driven by headless
Chromium through Playwright, with axe-core checking every page visited.

Without Chromium, Playwright or axe-core (``npm install --no-save --no-package-lock
axe-core`` at the repository root) these tests are skipped, unless
TIMEBANK_REQUIRE_BROWSER=1 (set by CI), which turns the skip into a failure.

Fixtures for the browser test modules (what they share that is not a fixture, such as
``Server``, ``new_page``, ``sign_in`` and ``visit``, is in tests/web/browser/support.py):

* ``server`` (per module): a ``Server`` with ``server.url``, ``server.db_url`` and
  ``server.run(coro_fn)``.
* ``browser`` (per module): a launched Chromium, for ``new_page(browser, server)``.
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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import administer, outside_loop, stop_process, with_database
from tests.web.browser.support import ARTIFACTS, AXE, ROOT, Server

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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


def _unavailable(reason: str) -> None:
    if REQUIRE_BROWSER:
        pytest.fail(f"the browser tests are required (TIMEBANK_REQUIRE_BROWSER=1) but {reason}")
    pytest.skip(f"browser tests skipped: {reason}")


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
    outside_loop(asyncio.run, administer(postgres_url, create))
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
        stop_process(process, timeout=30)
        outside_loop(
            asyncio.run, administer(postgres_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
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
