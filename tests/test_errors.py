"""Refusals are message ids: no domain error's text is built before it is translated.

An id made with an f-string, ``%`` or ``.format`` is a new id for every value, so it can
never be in a catalogue and reaches a German or Turkish reader in English. The values go in
``params`` and the edge fills them in the reader's language (``i18n.render``).
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from functools import cache
from pathlib import Path

import pytest

import timebank
from timebank.errors import DomainError

PACKAGE = Path(timebank.__file__).resolve().parent


@cache
def _error_classes() -> set[str]:
    for module in pkgutil.walk_packages([str(PACKAGE)], "timebank."):
        if not module.name.endswith("__main__"):  # that one runs the command line
            importlib.import_module(module.name)
    found: set[str] = set()
    todo: list[type] = [DomainError]
    while todo:
        cls = todo.pop()
        found.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return found


def _built(node: ast.expr) -> bool:
    """Whether an expression builds a string from values: f"…{x}", "…%s" % x, "…".format(x)."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(part, ast.FormattedValue) for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.Add)):
        return isinstance(node.left, (ast.Constant, ast.JoinedStr)) or _built(node.left)
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
    )


def built_messages(source: str, classes: set[str]) -> list[int]:
    """The lines where one of ``classes`` is given a message built from values."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else None
        if isinstance(node.func, ast.Name):
            name = node.func.id
        if name not in classes:
            continue
        detail = [*node.args[:1], *(k.value for k in node.keywords if k.arg == "detail")]
        if any(_built(arg) for arg in detail):
            lines.append(node.lineno)
    return lines


def test_the_check_sees_every_way_of_building_a_message() -> None:
    classes = {"Invalid"}
    built = [
        'raise Invalid(f"no member {member_id}")',
        'raise Invalid("no member %s" % member_id)',
        'raise Invalid("no member {}".format(member_id))',
        'raise Invalid("no member " + str(member_id))',
        'raise errors.Invalid(detail=f"no member {member_id}", field="x")',
        'refusal = Invalid(\n    f"no member {member_id}"\n)',
    ]
    for source in built:
        assert built_messages(source, classes), source
    fine = [
        'raise Invalid("no member {id}", params={"id": member_id})',
        'raise Invalid(f"a fixed text")',
        'raise ValueError(f"a programming mistake: {row}")',
        "raise Invalid(exc.detail, params=exc.params)",
    ]
    for source in fine:
        assert not built_messages(source, classes), source


# The operator's command line speaks English and is not translated.
OPERATOR_ONLY = {"cli.py", "backup.py", "config.py"}


@pytest.mark.parametrize(
    "path",
    [p for p in sorted(PACKAGE.rglob("*.py")) if p.name not in OPERATOR_ONLY],
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_no_refusal_builds_its_text_before_translation(path: Path) -> None:
    lines = built_messages(path.read_text(encoding="utf-8"), _error_classes())
    assert not lines, f"{path.name}: message built from values on line(s) {lines}"
