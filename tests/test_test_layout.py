"""The tests' own layout: test modules share fixtures through conftest.py and everything
else through plain modules (tests/support.py and its kin), never by importing from a
conftest.py or from another test module.

An imported fixture looks unused to the linter and then shadowed by the test's argument
(hence ``noqa: F401/F811``), an imported test function is collected twice, and one test file
comes to depend on another's internals; pytest loads conftest.py files itself, and an
import of one may load it a second time as another module. Imports inside functions count
as much as those at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _shares_wrongly(part: str) -> bool:
    return part == "conftest" or part.startswith("test_")


def imported_modules(source: str) -> set[str]:
    """Every module (or name in a module) a source imports; relative ones keep their dots:
    ``from . import test_review`` is ``.test_review``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            joint = base if base.endswith(".") else base + "."
            found.add(base)
            found.update(joint + alias.name for alias in node.names)
    return found


def shared_wrongly(source: str) -> list[str]:
    """The conftest and test modules a source imports from, such as
    ``tests.web.test_manager_pages``, however the import is written."""
    found: set[str] = set()
    for name in imported_modules(source):
        parts = name.split(".")
        # The project's own modules only: under ``tests``, relative, or top-level as pytest's
        # rootdir-style imports would see them (a third party's ``x.test_y`` is not ours).
        if parts[0] not in ("tests", "") and not _shares_wrongly(parts[0]):
            continue
        for i, part in enumerate(parts):
            if _shares_wrongly(part):
                found.add(".".join(parts[: i + 1]))
                break
    return sorted(found)


def checked_files() -> list[Path]:
    return sorted(TESTS.rglob("*.py"))


def test_the_checker_sees_every_kind_of_import() -> None:
    source = (
        "import pytest\n"
        "from tests.support import World\n"
        "from tests.web.support import post\n"
        "from tests.conftest import PASSWORD\n"
        "from tests.web.test_manager_pages import client\n"
        "from tests.web import test_flag_pages\n"
        "from .conftest import Server\n"
        "from . import test_review\n"
        "import tests.test_review\n"
        "from conftest import World\n"
        "def late():\n"
        "    from tests.web.browser.conftest import visit\n"
        "from test_layout_of_others import x\n"
        "from somebody.test_things import y\n"
    )
    assert shared_wrongly(source) == [
        ".conftest",
        ".test_review",
        "conftest",
        "test_layout_of_others",
        "tests.conftest",
        "tests.test_review",
        "tests.web.browser.conftest",
        "tests.web.test_flag_pages",
        "tests.web.test_manager_pages",
    ]


def test_the_tests_are_all_looked_at() -> None:
    names = {p.relative_to(TESTS).as_posix() for p in checked_files()}
    assert {"conftest.py", "web/conftest.py", "web/browser/conftest.py", "support.py"} <= names
    assert {"test_review.py", "jobs/test_scheduler.py", "web/test_flag_pages.py"} <= names


def test_nothing_imports_from_a_conftest_or_a_test_module() -> None:
    wrong = {
        path.relative_to(TESTS.parent).as_posix(): modules
        for path in checked_files()
        if (modules := shared_wrongly(path.read_text(encoding="utf-8")))
    }
    assert wrong == {}, (
        "these files import from a conftest.py or a test module; take fixtures as arguments "
        "(shared ones in the nearest conftest.py) and import other shared code from "
        "tests/support.py, tests/web/support.py or tests/web/browser/support.py"
    )
