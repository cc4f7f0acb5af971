"""Charts of the dashboard and the report: server-side SVG drawn by ``leather``.

Each chart is inline SVG with ``role="img"``, a ``<title>`` and a ``<desc>`` it is labelled
by, and a ``viewBox`` so it scales with the page; the page puts the same numbers in a table
beside it (screen readers, printing). Leather writes presentation attributes only (``fill``,
``font-size``), never a ``style`` attribute or element, so the charts pass the
Content-Security-Policy (``web/headers.py``) as they are. Titles and labels arrive
translated: the caller reads them in the reader's language.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import date

import leather  # type: ignore[import-untyped]
from babel.dates import format_skeleton
from babel.numbers import format_decimal
from markupsafe import Markup

from timebank import i18n

# Readable on white and in print: system sans-serif, dark labels, colours that stay apart
# in greyscale as far as ten can.
for _name in ("title", "legend", "axis_title", "tick"):
    setattr(leather.theme, f"{_name}_font_family", "sans-serif")
leather.theme.background_color = "#ffffff"
leather.theme.label_color = "#444444"
leather.theme.legend_color = "#333333"
leather.theme.tick_color = "#e6e6e6"
leather.theme.default_series_colors = [
    "#1b6ca8",
    "#d9822b",
    "#2e8540",
    "#a23b72",
    "#6b4c9a",
    "#8c564b",
    "#c4302b",
    "#17becf",
    "#7f7f7f",
    "#bcbd22",
]
GIVEN_COLOUR = "#2e8540"
RECEIVED_COLOUR = "#1b6ca8"

WIDTH = 800
_SVG_OPEN = re.compile(r'^<svg width="(\d+)" height="(\d+)" ')


def _accessible(svg: str, chart_id: str, title: str, description: str) -> Markup:
    """Leather's SVG with a viewBox, role, title and description."""
    match = _SVG_OPEN.match(svg)
    if match is None:  # leather changed its output: fail loudly in the tests
        raise ValueError("unexpected SVG from leather")
    width, height = match.groups()
    head = Markup(
        '<svg viewBox="0 0 {w} {h}" class="chart" role="img" '
        'aria-labelledby="{id}-title {id}-desc" '
    ).format(w=width, h=height, id=chart_id)
    body = svg[match.end() :]
    end_of_tag = body.index(">") + 1
    described = Markup('<title id="{id}-title">{t}</title><desc id="{id}-desc">{d}</desc>').format(
        id=chart_id, t=title, d=description
    )
    # The rest is leather's own XML (ElementTree escapes every text it writes).
    return head + Markup(body[:end_of_tag]) + described + Markup(body[end_of_tag:])


def hours_number(minutes: int, language: str) -> str:
    """Minutes as a bare number of hours for an axis ("2,5")."""
    return format_decimal(minutes / 60, format="#,##0.#", locale=i18n.pick_language(language))


def _number_axis(language: str) -> object:
    def label(value: float, index: int, count: int) -> str:
        return format_decimal(value, format="#,##0.#", locale=i18n.pick_language(language))

    return label


def bars(
    chart_id: str,
    title: str,
    description: str,
    items: Sequence[tuple[str, float]],
    language: str,
    *,
    colour: str | None = None,
) -> Markup:
    """One horizontal bar per item (label, value)."""
    chart = leather.Chart()
    data = [(float(value), label or "–") for label, value in items] or [(0.0, "–")]
    # Ordinal labels must be unique; a blank one (no district) is shown as a dash.
    seen: dict[str, int] = {}
    unique = []
    for value, label in data:
        seen[label] = seen.get(label, 0) + 1
        unique.append((value, label if seen[label] == 1 else f"{label} ({seen[label]})"))
    top = max((v for v, _ in unique), default=0.0)
    chart.add_x_scale(0, _nice(top))
    chart.add_x_axis(tick_formatter=_number_axis(language))
    chart.add_bars(unique, fill_color=colour or leather.theme.default_series_colors[0])
    height = 60 + 34 * len(unique)
    return _accessible(chart.to_svg(width=WIDTH, height=height), chart_id, title, description)


def side_by_side(
    chart_id: str,
    title: str,
    description: str,
    names: tuple[str, str],
    items: Sequence[tuple[str, float, float]],
    language: str,
) -> Markup:
    """Two bar charts next to each other (e.g. hours given and received per district), on
    one scale."""
    top = _nice(max([max(a, b) for _, a, b in items] or [0.0]))
    grid = leather.Grid()
    for position, (name, colour) in enumerate(
        zip(names, (GIVEN_COLOUR, RECEIVED_COLOUR), strict=True)
    ):
        chart = leather.Chart(name)
        data = [(float(row[1 + position]), row[0] or "–") for row in items] or [(0.0, "–")]
        chart.add_x_scale(0, top)
        chart.add_x_axis(tick_formatter=_number_axis(language))
        chart.add_bars(data, fill_color=colour)
        grid.add_one(chart)
    height = 80 + 34 * max(len(items), 1)
    return _accessible(grid.to_svg(width=WIDTH, height=height), chart_id, title, description)


def month_label(month: date, language: str) -> str:
    """ "03.2025" (de): numeric, so short enough for an axis in every language (the table
    beside the chart names the months in words)."""
    return format_skeleton("yyMM", month, locale=i18n.pick_language(language))


def lines(
    chart_id: str,
    title: str,
    description: str,
    months: Sequence[date],
    series: Sequence[tuple[str, Sequence[float]]],
    language: str,
) -> Markup:
    """One line per series over the months (x: the months, y: the values)."""
    chart = leather.Chart()
    count = len(months)
    chart.add_x_scale(0, max(count - 1, 1))
    step = max(1, math.ceil(count / 8))
    chart.add_x_axis(
        ticks=list(range(0, count, step)),
        tick_formatter=lambda value, index, total: month_label(months[int(value)], language),
    )
    values = [v for _, points in series for v in points]
    low, high = min([*values, 0.0]), max([*values, 0.0])
    chart.add_y_scale(_nice(low) if low < 0 else 0, _nice(high) or 1)
    chart.add_y_axis(tick_formatter=_number_axis(language))
    for name, points in series or [("", [0.0] * count)]:
        chart.add_line([(i, float(v)) for i, v in enumerate(points)], name=name or None)
    legend_rows = math.ceil(len(series) / 4) if len(series) > 1 else 0
    height = 360 + 24 * legend_rows
    return _accessible(chart.to_svg(width=WIDTH, height=height), chart_id, title, description)


def columns(
    chart_id: str,
    title: str,
    description: str,
    months: Sequence[date],
    values: Sequence[float],
    language: str,
) -> Markup:
    """A column per month (e.g. new members)."""
    chart = leather.Chart()
    labels = [month_label(m, language) for m in months]
    chart.add_y_scale(0, _nice(max([*values, 0.0])) or 1)
    chart.add_y_axis(tick_formatter=_number_axis(language))
    chart.add_columns(
        [(label, float(v)) for label, v in zip(labels, values, strict=True)] or [("–", 0.0)]
    )
    return _accessible(chart.to_svg(width=WIDTH, height=320), chart_id, title, description)


def _nice(value: float) -> float:
    """A round top for an axis: 1, 2 or 5 times a power of ten, at least ``value``."""
    if value <= 0:
        return 0.0 if value == 0 else -_nice(-value)
    power = 10 ** math.floor(math.log10(value))
    for factor in (1, 2, 5, 10):
        if factor * power >= value:
            return float(factor * power)
    return float(10 * power)
