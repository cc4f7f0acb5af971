"""The catalogues are complete and current, and every error can be shown in every language.

- de, tr, ru, ar: no entry empty or fuzzy, the language's number of plural forms, the same
  ``{placeholders}``/``%(placeholders)s`` as the id (a renamed one crashes the page), and no
  entry left as the English id unless it is the same word in that language.
- messages.pot is what the extractor finds today, and every id it finds is in each catalogue.
  The extraction runs the command in timebank/locale/README.md: its ``-k`` keywords are read
  from there, so the README and this test cannot drift apart.
- Every message id a domain error or a form can carry renders in each language, and no error
  is built as a finished English sentence (an f-string can never be translated).

The pages themselves are checked for English in tests/web/test_language_leaks.py.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.pofile import read_po

import timebank
from timebank import flags, i18n
from timebank.errors import DomainError
from timebank.models import FLAG_ACTIONS, FLAG_STATUSES, JOB_TRIGGERS

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "timebank" / "locale"
TRANSLATED = ("de", "tr", "ru", "ar")
PLURAL_FORMS = {"de": 2, "en": 2, "tr": 1, "ru": 3, "ar": 6}

# Ids a template or handler picks at run time (``_(f.status)``, ``_(run.trigger)``,
# ``_(kind_names[f.kind])``): the extractor cannot see them, the catalogues keep them.
RUN_TIME_IDS = frozenset([*flags.KIND_NAMES.values(), *FLAG_STATUSES, *FLAG_ACTIONS, *JOB_TRIGGERS])

# Translations that are the English id on purpose: the same word in that language.
SAME_BY_NATURE = {
    "de": {"Name", "Organisation", "normal"},
    "tr": {"No.", "normal"},
    "ru": set(),
    "ar": set(),
}

# ``%(name)s`` (templates, Jinja's trans) and ``{name}`` (domain errors and notifications).
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|(?<!\{)\{(\w*)\}(?!\})")


# --- Extraction, as timebank/locale/README.md runs it ----------------------------------------


@cache
def readme_keywords() -> tuple[str, ...]:
    """The ``-k`` options of the README's ``pybabel extract`` command."""
    readme = (LOCALE / "README.md").read_text(encoding="utf-8")
    command = re.search(r"pybabel extract (.*?)-o ", readme, re.S)
    assert command, "timebank/locale/README.md lost its pybabel extract command"
    return tuple(re.findall(r"-k\s+(\S+)", command.group(1)))


def error_keywords() -> tuple[str, ...]:
    """The README's keywords that are error classes (their first argument is the id)."""
    return tuple(k for k in readme_keywords() if k[0].isupper() and ":" not in k)


def extract(keywords: dict[str, object]) -> dict[str, str | tuple[str, ...]]:
    """Every id found with these keywords and babel.cfg's mapping: ``{singular: id}``."""
    with (LOCALE / "babel.cfg").open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: dict[str, str | tuple[str, ...]] = {}
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT),
        method_map,
        options_map,
        keywords=keywords,  # type: ignore[arg-type]
    ):
        found[message if isinstance(message, str) else message[0]] = message
    return found


@cache
def extracted() -> dict[str, str | tuple[str, ...]]:
    return extract({**DEFAULT_KEYWORDS, **parse_keywords(list(readme_keywords()))})


@cache
def catalogue(language: str) -> Catalog:
    path = LOCALE / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fp:
        return read_po(fp, locale=language)


def template() -> Catalog:
    with (LOCALE / "messages.pot").open("rb") as fp:
        return read_po(fp)


def ids_of(catalog: Catalog) -> set[str]:
    return {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}


def forms(value: str | tuple[str, ...] | list[str] | None) -> list[str]:
    return [value or ""] if isinstance(value, str) or value is None else list(value)


def placeholders(text: str) -> set[str]:
    return {a or b for a, b in PLACEHOLDER.findall(text)}


# --- The catalogues --------------------------------------------------------------------------


@pytest.mark.parametrize("language", [*TRANSLATED, "en"])
def test_each_catalogue_has_its_languages_number_of_plural_forms(language: str) -> None:
    catalog = catalogue(language)
    assert catalog.num_plurals == PLURAL_FORMS[language]
    wrong = [
        m.id for m in catalog if m.pluralizable and len(forms(m.string)) != catalog.num_plurals
    ]
    assert wrong == []


@pytest.mark.parametrize("language", TRANSLATED)
def test_no_entry_is_empty_or_fuzzy(language: str) -> None:
    catalog = catalogue(language)
    empty = [m.id for m in catalog if m.id and not all(forms(m.string))]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert (empty, fuzzy) == ([], [])


@pytest.mark.parametrize("language", TRANSLATED)
def test_translations_keep_the_placeholders_of_their_id(language: str) -> None:
    broken = []
    for m in catalogue(language):
        if not m.id:
            continue
        wanted = set().union(*(placeholders(i) for i in forms(m.id)))
        for text in forms(m.string):
            if text and placeholders(text) != wanted:
                broken.append((m.id, text))
    assert broken == []


@pytest.mark.parametrize("language", TRANSLATED)
def test_no_translation_is_left_as_the_english_id(language: str) -> None:
    left = [
        m.id
        for m in catalogue(language)
        if m.id
        and forms(m.string)[0] == forms(m.id)[0]
        and forms(m.id)[0] not in SAME_BY_NATURE[language]
    ]
    assert left == []


def test_the_template_is_what_the_extractor_finds_today() -> None:
    """If this fails, re-extract with the README's command (the ids in the diff are new or
    gone), then add the new ones to every catalogue."""
    found, stored = set(extracted()), ids_of(template())
    new, gone = sorted(found - stored), sorted(stored - found)
    assert not (new or gone), f"new: {new}\ngone: {gone}"


def test_the_readme_keywords_name_every_error_class() -> None:
    """A new error class missing from ``-k`` would leave its messages untranslated."""
    raised = {name for path in python_files() for name, _ in error_calls(path, error_names())}
    missing = sorted(raised - {"DomainError"} - set(error_keywords()))
    assert missing == []


@pytest.mark.parametrize("language", [*TRANSLATED, "en"])
def test_every_extracted_id_is_in_each_catalogue(language: str) -> None:
    missing = sorted(set(extracted()) - ids_of(catalogue(language)))
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_ids_chosen_at_run_time_are_translated(language: str) -> None:
    catalog = catalogue(language)
    missing = sorted(i for i in RUN_TIME_IDS if not getattr(catalog.get(i), "string", None))
    assert missing == []


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_catalogues_hold_no_id_nobody_uses(language: str) -> None:
    """An id neither extracted nor chosen at run time is stale, or a constant someone forgot
    to mark with ``N_``."""
    stale = sorted(ids_of(catalogue(language)) - set(extracted()) - RUN_TIME_IDS)
    assert not stale, "\n".join(stale)


# --- Errors ----------------------------------------------------------------------------------


def error_classes() -> Iterator[type[DomainError]]:
    todo: list[type[DomainError]] = [DomainError]
    while todo:
        cls = todo.pop()
        yield cls
        todo += cls.__subclasses__()


@cache
def error_ids() -> dict[str, str | tuple[str, ...]]:
    """What a domain error or a form can say: the first argument of the error classes, and
    the ids marked with ``N_`` (constants the errors and forms pass on)."""
    return extract(parse_keywords([*error_keywords(), "N_"]))


def sample_params(message: str) -> dict[str, object]:
    return {name: 7 for name in placeholders(message)}


def test_the_error_messages_are_found() -> None:
    assert len(error_ids()) > 40
    assert "this member was not found" in error_ids()


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_error_message_renders_in_each_language(language: str) -> None:
    failed = []
    for message in error_ids():
        params = sample_params(message)
        try:
            shown = i18n.gettext_for(language, message).format(**params)
        except (KeyError, IndexError, ValueError) as exc:
            failed.append(f"{message!r}: {exc!r}")
            continue
        english = i18n.render("en", message, params)
        if shown == english and message not in SAME_BY_NATURE[language]:
            failed.append(f"{message!r} is English")
        assert i18n.render(language, message, params) == shown
    assert not failed, "\n".join(failed)


@cache
def error_names() -> frozenset[str]:
    """The error classes whose first argument is the message id (all but those with an
    ``__init__`` of their own, which pick their id themselves)."""
    for module in pkgutil.walk_packages(timebank.__path__, "timebank."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    return frozenset(cls.__name__ for cls in error_classes() if "__init__" not in vars(cls))


def python_files() -> list[Path]:
    return sorted((ROOT / "timebank").rglob("*.py"))


def error_calls(path: Path, names: frozenset[str]) -> Iterator[tuple[str, ast.expr | None]]:
    """``(class name, message argument)`` of each call of an error class in ``path``."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in names:
                detail = node.args[0] if node.args else None
                detail = next((k.value for k in node.keywords if k.arg == "detail"), detail)
                yield node.func.id, detail


def _unmarked_constants(path: Path) -> set[str]:
    """Module constants that are plain strings, not ``N_("…")``: never extracted."""
    return {
        target.id
        for node in ast.parse(path.read_text(encoding="utf-8")).body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }


def _is_id(detail: ast.expr | None, unmarked: set[str]) -> bool:
    if detail is None or isinstance(detail, ast.Attribute):
        return True  # no message, or a constant of another module (checked there)
    if isinstance(detail, ast.Subscript):
        # Picked from a table of ids (``TOO_LONG[field]``); with a literal key the
        # extractor would take the key (``TOO_LONG["reason"]``) for the message.
        return not isinstance(detail.slice, ast.Constant)
    if isinstance(detail, ast.Constant):
        return isinstance(detail.value, str)
    if isinstance(detail, ast.Call):
        return isinstance(detail.func, ast.Name) and detail.func.id == "N_"
    return isinstance(detail, ast.Name) and detail.id not in unmarked


def test_no_error_message_is_a_built_sentence() -> None:
    """``Invalid(f"… {x} …")`` can never be translated: the id must be fixed, the values go
    into ``params``; a constant passed on must be marked with ``N_`` to be extracted."""
    built = []
    for path in python_files():
        unmarked = _unmarked_constants(path)
        with open(path, encoding="utf-8") as source:
            lines = source.read().splitlines()
        for name, detail in error_calls(path, error_names() | {"DomainError"}):
            if not _is_id(detail, unmarked):
                assert detail is not None
                where = f"{path.relative_to(ROOT)}:{detail.lineno}"
                built.append(f"{where}: {name}({lines[detail.lineno - 1].strip()[:70]}")
    assert not built, "messages the extractor cannot read as ids:\n" + "\n".join(built)
