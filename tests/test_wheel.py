"""The built wheel is a working app on its own: installed into a fresh virtual environment,
away from the checkout, it migrates a database and serves pages with their stylesheet and their
translations. Templates, migrations, catalogues and CSS are not Python modules, so only a real
build shows whether they ship.

Slow (a wheel build and a dependency install, about a minute with pip's cache warm), but run by
default: a wheel that cannot start is a release that cannot be deployed.
"""

from __future__ import annotations

import html
import os
import re
import socket
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
import venv
import zipfile
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from tests.support import stop_process

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
# A sentence only the sign-in page shows; its German translation must reach the page.
LOGIN_MSGID = "Sign in with the email address and the password you got from the network office."
BIN = "Scripts" if os.name == "nt" else "bin"


def _run(args: list[str | Path], *, cwd: Path, env: dict[str, str], timeout: float) -> str:
    done = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment minus anything that could lead the venv back to the checkout or to this
    test run's own settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP"}
        and not key.startswith("TIMEBANK_")
        and not key.startswith("PYTEST")
    }
    env.update(extra)
    return env


def _new_venv(where: Path) -> Path:
    # Without a pip of its own (bootstrapping one costs seconds): this run's pip installs into
    # it through --python.
    venv.EnvBuilder(with_pip=False, clear=True).create(where)
    return where / BIN / "python"


def _pip_install(python: Path, *what: str | Path, cwd: Path) -> None:
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            python,
            "install",
            "--quiet",
            "--no-compile",
            *what,
        ],
        cwd=cwd,
        env=_clean_env(),
        timeout=600,
    )


@pytest.fixture(scope="module")
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("wheel")
    assert not base.resolve().is_relative_to(REPO), "the test must run outside the checkout"
    return base


@pytest.fixture(scope="module")
def wheel(outside: Path) -> Path:
    dist = outside / "dist"
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", dist, REPO],
        cwd=outside,
        env=_clean_env(),
        timeout=300,
    )
    [built] = dist.glob("timebank-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(outside: Path, wheel: Path) -> Path:
    """A fresh venv with the wheel and its dependencies; returns the venv's folder."""
    where = outside / "venv"
    started = time.monotonic()
    _pip_install(_new_venv(where), wheel, cwd=outside)
    print(f"\nfresh venv with the wheel installed in {time.monotonic() - started:.1f} s")
    return where


def test_the_wheel_holds_templates_migrations_catalogues_and_css(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        "timebank/templates/base.html",
        "timebank/templates/auth/login.html",
        "timebank/migrations/env.py",
        "timebank/migrations/script.py.mako",
        "timebank/web/static/timebank.css",
        "timebank/locale/messages.pot",
        "timebank/locale/babel.cfg",
    }
    expected |= {
        f"timebank/{path.relative_to(REPO).as_posix()}"
        for path in (REPO / "migrations" / "versions").glob("*.py")
    }
    expected |= {
        path.relative_to(REPO).as_posix() for path in (REPO / "timebank" / "locale").rglob("*.po")
    }
    assert any(name.startswith("timebank/migrations/versions/") for name in expected)
    assert any(name.endswith("/de/LC_MESSAGES/messages.po") for name in expected)
    assert expected <= names, sorted(expected - names)
    assert not any("__pycache__" in name for name in names)


def test_the_sdist_holds_templates_and_migrations(outside: Path) -> None:
    builder = _new_venv(outside / "builder")
    _pip_install(builder, "hatchling>=1.25,<2", cwd=outside)
    _run(
        [builder, "-m", "hatchling", "build", "-t", "sdist", "-d", outside / "sdist"],
        cwd=REPO,
        env=_clean_env(),
        timeout=300,
    )
    [sdist] = (outside / "sdist").glob("timebank-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {
        "pyproject.toml",
        "templates/base.html",
        "migrations/env.py",
        "timebank/web/static/timebank.css",
        "timebank/locale/de/LC_MESSAGES/messages.po",
    } <= names


def test_the_installed_wheel_migrates_and_serves_outside_the_checkout(
    installed: Path, outside: Path
) -> None:
    python = installed / BIN / "python"
    timebank = installed / BIN / "timebank"
    workdir = outside / "run"
    workdir.mkdir()
    env = _clean_env(
        TIMEBANK_DATABASE_URL=f"sqlite+aiosqlite:///{workdir / 'x.db'}",
        TIMEBANK_SECRET_KEY="wheel-test-secret-key-0123456789",
        TIMEBANK_SCHEDULER="0",
    )
    # The wheel went in uncompiled: let the first command write the bytecode of what it imports
    # (inside the throwaway venv) instead of every command compiling it again.
    env.pop("PYTHONDONTWRITEBYTECODE", None)

    where = _run(
        [
            python,
            "-c",
            "import sysconfig, timebank, timebank.resources as r; "
            "print(sysconfig.get_paths()['purelib']); print(timebank.__file__); "
            "print(r.TEMPLATES_DIR); print(r.MIGRATIONS_DIR)",
        ],
        cwd=workdir,
        env=env,
        timeout=60,
    ).splitlines()
    site_packages = Path(where[0]).resolve()
    assert site_packages.is_relative_to(installed.resolve())
    for path in where[1:]:
        # The package, its templates and its migrations, all from the venv, none from the checkout.
        assert Path(path).resolve().is_relative_to(site_packages / "timebank"), where

    _run([timebank, "db", "upgrade"], cwd=workdir, env=env, timeout=120)
    assert (workdir / "x.db").stat().st_size > 0

    port = _free_port()
    log = (workdir / "serve.log").open("w")
    server = subprocess.Popen(
        [str(timebank), "serve", "--port", str(port)],
        cwd=workdir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        status, _, body = _wait_for(f"{base}/login", server, workdir / "serve.log")
        assert status == 200

        stylesheet = re.search(r'<link rel="stylesheet" href="([^"]+)"', body)
        assert stylesheet, body
        css_status, css_type, css = _get(base + html.unescape(stylesheet.group(1)))
        assert css_status == 200
        assert css_type.startswith("text/css"), css_type
        assert "{" in css

        german = _german(LOGIN_MSGID)
        assert german and german != LOGIN_MSGID
        _, _, page_de = _get(f"{base}/login", language="de")
        assert german in html.unescape(page_de), "the German catalogue did not ship"
    finally:
        stop_process(server, timeout=15)
        log.close()


def _german(msgid: str) -> str:
    with (REPO / "timebank/locale/de/LC_MESSAGES/messages.po").open("rb") as po:
        message = read_po(po).get(msgid)
    assert message is not None, msgid
    return str(message.string)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, *, language: str = "de") -> tuple[int, str, str]:
    request = urllib.request.Request(url, headers={"Accept-Language": language})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return (
                response.status,
                response.headers.get("content-type", ""),
                response.read().decode("utf-8"),
            )
    except urllib.error.HTTPError as error:  # an answer, just not a 2xx one
        return error.code, error.headers.get("content-type", ""), error.read().decode("utf-8")


def _wait_for(url: str, server: subprocess.Popen[bytes], log: Path) -> tuple[int, str, str]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"timebank serve stopped ({server.returncode}):\n{log.read_text()}")
        try:
            return _get(url)
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.25)
    pytest.fail(f"timebank serve did not answer within 60 s:\n{log.read_text()}")
