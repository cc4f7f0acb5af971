"""Right to left without a browser: the stylesheets only use logical properties, and on an
Arabic page the filters isolate hours, dates and what people typed (``<bdi>``), while
left-to-right pages get plain text. The pages themselves are checked in Chromium by
tests/web/browser/test_right_to_left.py."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from jinja2 import Environment

from timebank.web import filters

STATIC = Path(filters.__file__).resolve().parent / "static"

# A physical side or corner: it stays put when the page turns right to left.
PHYSICAL = re.compile(
    r"(?<![-\w])(?:margin|padding|border|inset|scroll-margin|scroll-padding)-(?:left|right|top|bottom)\b"
    r"|(?<![-\w])(?:left|right|top|bottom)\s*:"
    r"|\b(?:text-align|float|clear)\s*:\s*(?:left|right)\b"
    r"|\bborder-(?:top|bottom)-(?:left|right)-radius\b"
)
# "padding: 1px 2px 3px 4px" sets the left and the right side apart.
_VALUE = r"([^;\s}]+)[ \t]+"
LOPSIDED = re.compile(
    r"(?<![-\w])(?:margin|padding|inset)\s*:\s*" + _VALUE * 3 + r"([^;\s}]+)\s*[;}]"
)


def declarations(css: str) -> str:
    return re.sub(r"/\*.*?\*/", "", css, flags=re.S)


@pytest.mark.parametrize("sheet", sorted(p.name for p in STATIC.glob("*.css")))
def test_the_stylesheets_use_logical_properties_only(sheet: str) -> None:
    css = declarations((STATIC / sheet).read_text())
    physical = [m.group(0) for m in PHYSICAL.finditer(css)]
    lopsided = [m.group(0) for m in LOPSIDED.finditer(css) if m.group(2) != m.group(4)]
    assert physical == [] and lopsided == [], f"{sheet}: {physical + lopsided}"


def test_the_check_finds_physical_properties() -> None:
    css = ".a { padding: 0.5rem 0 0.5rem 1rem; margin-left: 1px; top: 0; text-align: right; }"
    assert len(PHYSICAL.findall(css)) == 3
    sides = LOPSIDED.search(css)
    assert sides is not None and sides.group(2) != sides.group(4)
    fine = ".a { margin-inline-start: 1px; inset-block-start: 0; text-align: end; }"
    fine += ".b { vertical-align: top; padding: 1px 2px 3px 2px; }"
    assert PHYSICAL.findall(fine) == []
    sides = LOPSIDED.search(fine)
    assert sides is not None and sides.group(2) == sides.group(4)


@pytest.fixture(scope="module")
def env() -> Environment:
    environment = Environment(extensions=["jinja2.ext.i18n"], autoescape=True)
    filters.install(environment)
    return environment


def draw(env: Environment, source: str, lang: str, **values: object) -> str:
    rtl = lang == "ar"
    return env.from_string(source).render(lang=lang, rtl=rtl, **values)


def test_on_an_arabic_page_hours_and_dates_are_isolated(env: Environment) -> None:
    page = draw(env, "{{ m | hours }}|{{ m | signed_hours }}|{{ d | short_date }}", "ar", m=-465,
                d=date(2026, 11, 25))  # fmt: skip
    parts = page.split("|")
    assert all(p.startswith("<bdi>") and p.endswith("</bdi>") for p in parts), page
    # Inside a translated sentence the isolation stays markup, not escaped text.
    owed = draw(env, '{{ _("%(hours)s owed", hours=m | hours) }}', "ar", m=90)
    assert "<bdi>1 س 30 د</bdi>" in owed and "&lt;" not in owed


def test_what_people_typed_is_isolated_and_still_escaped(env: Environment) -> None:
    page = draw(env, "{{ name | isolate }}|{{ none | isolate }}", "ar",
                name="Caritas <e.V.>", none=None)  # fmt: skip
    assert page == "<bdi>Caritas &lt;e.V.&gt;</bdi>|"


@pytest.mark.parametrize("lang", ["de", "en", "tr", "ru"])
def test_left_to_right_pages_get_plain_text(env: Environment, lang: str) -> None:
    page = draw(env, "{{ m | hours }} {{ d | long_date }} {{ name | isolate }}", lang, m=90,
                d=date(2026, 11, 25), name="Fatima Haddad")  # fmt: skip
    assert "<bdi>" not in page and "Fatima Haddad" in page
