"""The one rule of the layout: data flows one way, from the wings into the domain.

The domain (``timebank/*.py``) never imports the web wing, the jobs wing, the web framework
or the template engine; the jobs wing never imports the web wing. The command line
(``timebank/cli.py``, ``timebank/__main__.py``) starts both wings and may import them.
Imports inside functions count as much as those at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "timebank"
ENTRY_POINTS = {"cli.py", "__main__.py"}
DOMAIN_MAY_NOT = ("timebank.web", "timebank.jobs", "litestar", "jinja2")
JOBS_MAY_NOT = ("timebank.web", "litestar", "jinja2")


def imported_modules(source: str) -> set[str]:
    """Every module a source imports, ``from timebank import web`` as ``timebank.web``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def forbidden(source: str, banned: tuple[str, ...]) -> list[str]:
    return sorted(
        module
        for module in imported_modules(source)
        if any(module == b or module.startswith(b + ".") for b in banned)
    )


def domain_modules() -> list[Path]:
    return sorted(p for p in PACKAGE.glob("*.py") if p.name not in ENTRY_POINTS)


def test_the_checker_sees_every_kind_of_import() -> None:
    source = (
        "import litestar\n"
        "from timebank import web\n"
        "def late():\n"
        "    from timebank.jobs.registry import JOBS\n"
        "from jinja2 import Environment\n"
        "from timebank import ledger\n"
    )
    assert forbidden(source, DOMAIN_MAY_NOT) == [
        "jinja2",
        "jinja2.Environment",
        "litestar",
        "timebank.jobs.registry",
        "timebank.jobs.registry.JOBS",
        "timebank.web",
    ]


def test_there_is_a_domain_and_two_wings() -> None:
    names = {p.stem for p in domain_modules()}
    assert {"ledger", "exchanges", "members", "access", "models", "network"} <= names
    assert (PACKAGE / "web" / "app.py").is_file()
    assert (PACKAGE / "jobs" / "scheduler.py").is_file()


@pytest.mark.parametrize("path", domain_modules(), ids=lambda p: p.name)
def test_the_domain_never_imports_the_wings(path: Path) -> None:
    assert forbidden(path.read_text(encoding="utf-8"), DOMAIN_MAY_NOT) == []


@pytest.mark.parametrize(
    "path", sorted((PACKAGE / "jobs").glob("*.py")), ids=lambda p: f"jobs/{p.name}"
)
def test_the_jobs_never_import_the_web(path: Path) -> None:
    assert forbidden(path.read_text(encoding="utf-8"), JOBS_MAY_NOT) == []
