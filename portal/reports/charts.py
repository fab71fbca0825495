"""Charts of an impact report: inline SVG for pages, reportlab drawings for the PDF.

The geometry (label, value text, length 0..1, suppressed flag) is computed once in plain Python,
then laid out as a few primitives (rectangles, stubs, texts, lines) that two small backends
turn into SVG text or a reportlab Drawing. A SMALL value ("<5") is never given a length: it is
drawn as a hatched stub of one fixed size, so no bar can give its true value away.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from math import ceil
from typing import Literal, NamedTuple

from babel.dates import get_month_names
from babel.numbers import get_group_symbol
from flask_babel import gettext as _
from markupsafe import Markup, escape
from reportlab.graphics.shapes import Drawing, Group, Line, Rect, String
from reportlab.lib.colors import Color, HexColor

from portal.i18n import current_locale
from portal.pdf import BOLD, FONT, register_fonts
from portal.reports.figures import SMALL, MonthPoint, Row, Shown

PRIMARY = "#0b5d4b"
INK = "#1f2933"
MUTED = "#52606d"
AXIS = "#9aa5b1"
STUB_FILL = "#f0f2f4"
STUB_LINE = "#7b8794"
SERIES_COLOURS = (
    "#0b5d4b",
    "#e69f00",
    "#56b4e9",
    "#d55e00",
    "#cc79a7",
    "#0072b2",
    "#b8a92e",
    "#7b8794",
)
SVG_WIDTH = 640.0
SVG_FONT = "Helvetica, Arial, sans-serif"

PAD = 8.0
TITLE_H = 28.0
TITLE_SIZE = 13.0
LABEL_SIZE = 10.5
VALUE_SIZE = 9.5
ROW_H = 22.0
BAR_H = 14.0
STUB_W = 18.0  # every SMALL bar: this wide, whatever the scale
STUB_H = 12.0  # every SMALL column: this tall, whatever the scale
PLOT_H = 150.0
CHAR_W = 0.56  # average glyph width of the sans font, in ems (for layout estimates)

Value = Literal["workers", "worker_months"]


# --- geometry -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar: its label, the value as shown, its length (0..1 of the longest) and whether it
    is a SMALL group (then length is 0 and the bar is drawn as the fixed stub)."""

    label: str
    text: str
    length: float
    suppressed: bool


@dataclass(frozen=True, slots=True)
class Stack:
    """One stacked column: its label, the total as text, and (series, length, text) segments."""

    label: str
    total: str
    segments: tuple[tuple[int, float, str], ...]


def bar_geometry(rows: Sequence[Row], value: Value = "workers") -> tuple[Bar, ...]:
    """Bars for a breakdown's rows, scaled to the largest value that may be shown."""
    fmt = number_formatter()
    values = [getattr(row, value) for row in rows]
    return _bars([row.label for row in rows], values, fmt)


def month_geometry(points: Sequence[MonthPoint]) -> tuple[Bar, ...]:
    """One column per month, labelled like "Jan 2025"."""
    fmt = number_formatter()
    name = month_namer("abbreviated")
    return _bars([name(p.month) for p in points], [p.workers for p in points], fmt)


def series_geometry(
    months: Sequence[date], series: Sequence[tuple[str, Sequence[int]]]
) -> tuple[Stack, ...]:
    """Stacked columns: for each month, every series' value on top of the previous ones."""
    fmt = number_formatter()
    name = month_namer("abbreviated")
    totals = [sum(values[i] for _name, values in series) for i in range(len(months))]
    top = max(totals, default=0) or 1
    return tuple(
        Stack(
            name(month),
            fmt(totals[i]),
            tuple(
                (s, values[i] / top, fmt(values[i]))
                for s, (_name, values) in enumerate(series)
                if values[i] > 0
            ),
        )
        for i, month in enumerate(months)
    )


def _bars(
    labels: Sequence[str], values: Sequence[Shown], fmt: Callable[[int], str]
) -> tuple[Bar, ...]:
    top = max((v for v in values if isinstance(v, int)), default=0) or 1
    return tuple(
        Bar(label, fmt(v), max(v, 0) / top, False)
        if isinstance(v, int)
        else Bar(label, SMALL, 0.0, True)  # any text is shown as SMALL, never as a length
        for label, v in zip(labels, values, strict=True)
    )


def number_formatter() -> Callable[[int], str]:
    """Whole numbers grouped the current locale's way (1.234 / 1,234), cheaply."""
    group = get_group_symbol(current_locale())
    return lambda n: f"{n:,}".replace(",", group)


def month_namer(width: Literal["abbreviated", "wide"] = "wide") -> Callable[[date], str]:
    """ "Januari 2025" (wide) or "Jan 2025" (abbreviated) in the current locale, cheaply."""
    names = get_month_names(width, locale=current_locale())
    return lambda month: f"{names[month.month]} {month.year}"


# --- layout: primitives in a y-down box, shared by both backends ---------------------------


class _Rect(NamedTuple):
    x: float
    y: float
    w: float
    h: float
    fill: str
    tip: str
    stub: bool = False  # a SMALL value: outlined, hatched, fixed size


class _Text(NamedTuple):
    x: float
    y: float  # baseline
    text: str
    size: float
    anchor: str = "start"
    bold: bool = False
    fill: str = INK
    vertical: bool = False  # rotated to read bottom-to-top, starting at (x, y)


class _Line(NamedTuple):
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass
class _Layout:
    width: float
    height: float = 0.0
    items: list[_Rect | _Text | _Line] = field(default_factory=list)


def _text_width(text: str, size: float) -> float:
    return len(text) * size * CHAR_W


def _fit(text: str, size: float, room: float) -> str:
    """The text, cut with an ellipsis when it would not fit in room."""
    if _text_width(text, size) <= room:
        return text
    keep = max(int(room / (size * CHAR_W)) - 1, 1)
    return text[:keep].rstrip() + "…"


def _title(layout: _Layout, title: str) -> float:
    """Draw the title (if any) and return where the chart below it starts."""
    if not title:
        return PAD
    layout.items.append(
        _Text(PAD, 18.0, _fit(title, TITLE_SIZE, layout.width - 2 * PAD), TITLE_SIZE, bold=True)
    )
    return TITLE_H


def _bar_layout(bars: Sequence[Bar], title: str, width: float) -> _Layout:
    layout = _Layout(width)
    top = _title(layout, title)
    if not bars:
        return _empty(layout, top)
    label_w = min(max(max(_text_width(b.label, LABEL_SIZE) for b in bars) + 10, 60.0), width * 0.38)
    value_w = max(max(_text_width(b.text, VALUE_SIZE) for b in bars), STUB_W) + 10
    x0 = PAD + label_w
    plot_w = width - x0 - value_w - PAD
    items = layout.items
    for i, bar in enumerate(bars):
        y = top + i * ROW_H
        tip = f"{bar.label}: {bar.text}"
        items.append(
            _Text(
                x0 - 6,
                y + ROW_H / 2 + 3.5,
                _fit(bar.label, LABEL_SIZE, label_w - 8),
                LABEL_SIZE,
                "end",
            )
        )
        if bar.suppressed:
            items.append(_Rect(x0, y + (ROW_H - BAR_H) / 2, STUB_W, BAR_H, STUB_FILL, tip, True))
            end = x0 + STUB_W
        else:
            end = x0 + bar.length * plot_w
            if end > x0:
                items.append(_Rect(x0, y + (ROW_H - BAR_H) / 2, end - x0, BAR_H, PRIMARY, tip))
        items.append(
            _Text(
                end + 4,
                y + ROW_H / 2 + 3.5,
                bar.text,
                VALUE_SIZE,
                fill=MUTED if bar.suppressed else INK,
            )
        )
    bottom = top + len(bars) * ROW_H
    items.append(_Line(x0, top, x0, bottom))
    layout.height = bottom + PAD
    return layout


def _empty(layout: _Layout, top: float) -> _Layout:
    layout.items.append(_Text(PAD, top + 16, _("No data for this period."), LABEL_SIZE, fill=MUTED))
    layout.height = top + 26
    return layout


class _Columns(NamedTuple):
    """Where columns go: left edge of the plot, slot width, column width, baseline."""

    x0: float
    slot: float
    col_w: float
    top: float
    base: float
    vertical: bool  # value texts rotated, because they are wider than a slot


def _columns(layout: _Layout, top: float, texts: Sequence[str], count: int) -> _Columns:
    x0 = PAD + 4
    slot = (layout.width - x0 - PAD) / count
    widest = max((_text_width(t, VALUE_SIZE) for t in texts), default=0.0)
    vertical = widest > slot - 2
    head = (widest + 8) if vertical else (VALUE_SIZE + 6)
    col_w = min(slot * 0.72, 44.0)
    return _Columns(x0, slot, col_w, top + head, top + head + PLOT_H, vertical)


def _value_text(
    layout: _Layout, cols: _Columns, cx: float, y: float, text: str, muted: bool = False
) -> None:
    fill = MUTED if muted else INK
    if cols.vertical:
        layout.items.append(
            _Text(cx + VALUE_SIZE * 0.35, y - 3, text, VALUE_SIZE, fill=fill, vertical=True)
        )
    else:
        layout.items.append(_Text(cx, y - 4, text, VALUE_SIZE, "middle", fill=fill))


def _month_ticks(layout: _Layout, cols: _Columns, labels: Sequence[str]) -> None:
    """Month names under the columns (thinned when crowded), the year under January and the
    first column."""
    widest = max(_text_width(label.split(" ")[0], LABEL_SIZE - 1) for label in labels)
    every = max(ceil((widest + 4) / cols.slot), 1)
    year_seen = ""
    for i, label in enumerate(labels):
        if i % every:
            continue
        name, _space, year = label.rpartition(" ")
        cx = cols.x0 + (i + 0.5) * cols.slot
        layout.items.append(_Text(cx, cols.base + 13, name, LABEL_SIZE - 1, "middle"))
        if year != year_seen:
            layout.items.append(
                _Text(cx, cols.base + 25, year, LABEL_SIZE - 1, "middle", fill=MUTED)
            )
            year_seen = year
    layout.items.append(_Line(cols.x0, cols.base, layout.width - PAD, cols.base))
    layout.height = cols.base + 25 + PAD


def _month_layout(bars: Sequence[Bar], title: str, width: float) -> _Layout:
    layout = _Layout(width)
    top = _title(layout, title)
    if not bars:
        return _empty(layout, top)
    cols = _columns(layout, top, [b.text for b in bars], len(bars))
    for i, bar in enumerate(bars):
        cx = cols.x0 + (i + 0.5) * cols.slot
        x = cx - cols.col_w / 2
        tip = f"{bar.label}: {bar.text}"
        if bar.suppressed:
            height = STUB_H
            layout.items.append(
                _Rect(x, cols.base - height, cols.col_w, height, STUB_FILL, tip, True)
            )
        else:
            height = bar.length * PLOT_H
            if height > 0:
                layout.items.append(_Rect(x, cols.base - height, cols.col_w, height, PRIMARY, tip))
        _value_text(layout, cols, cx, cols.base - height, bar.text, bar.suppressed)
    _month_ticks(layout, cols, [b.label for b in bars])
    return layout


def _series_layout(
    stacks: Sequence[Stack], names: Sequence[str], title: str, width: float
) -> _Layout:
    layout = _Layout(width)
    top = _title(layout, title)
    if not stacks:
        return _empty(layout, top)
    x, y = PAD, top + 4
    for s, name in enumerate(names):  # the legend, wrapped over as many lines as it needs
        room = _text_width(name, LABEL_SIZE) * 1.15 + 30  # names are often in capitals
        if x > PAD and x + room > width - PAD:
            x, y = PAD, y + 16
        layout.items.append(_Rect(x, y, 10, 10, _colour(s), name))
        layout.items.append(
            _Text(x + 14, y + 9, _fit(name, LABEL_SIZE, width - 3 * PAD), LABEL_SIZE)
        )
        x += room
    cols = _columns(layout, y + 20, [stack.total for stack in stacks], len(stacks))
    for i, stack in enumerate(stacks):
        cx = cols.x0 + (i + 0.5) * cols.slot
        bottom = cols.base
        for s, length, text in stack.segments:
            height = length * PLOT_H
            rect = _Rect(
                cx - cols.col_w / 2,
                bottom - height,
                cols.col_w,
                height,
                _colour(s),
                f"{names[s]}, {stack.label}: {text}",
            )
            layout.items.append(rect)
            if height >= VALUE_SIZE + 3 and _text_width(text, VALUE_SIZE - 1) < cols.col_w - 2:
                layout.items.append(
                    _Text(
                        cx, bottom - height / 2 + 3.2, text, VALUE_SIZE - 1, "middle", fill=_on(s)
                    )
                )
            bottom -= height
        _value_text(layout, cols, cx, bottom, stack.total)
    _month_ticks(layout, cols, [stack.label for stack in stacks])
    return layout


def _colour(series: int) -> str:
    return SERIES_COLOURS[series % len(SERIES_COLOURS)]


_DARK = frozenset((PRIMARY, "#d55e00", "#0072b2", "#7b8794"))


def _on(series: int) -> str:
    """Text colour readable on a series' colour."""
    return "#ffffff" if _colour(series) in _DARK else INK


def _hatch(x: float, y: float, w: float, h: float, step: float = 4.0) -> list[_Line]:
    """45° lines filling the box (x, y, w, h), clipped to it."""
    lines = []
    k = step
    while k < w + h:
        u1, u2 = max(0.0, k - h), min(w, k)
        lines.append(_Line(x + u1, y + k - u1, x + u2, y + k - u2))
        k += step
    return lines


# --- SVG backend ----------------------------------------------------------------------------


def _svg(layout: _Layout, title: str, desc: str) -> Markup:
    """The layout as one <svg> string; coordinates with one decimal, every text escaped."""
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="100%" '
        f'viewBox="0 0 {layout.width:.0f} {layout.height:.1f}" font-family="{SVG_FONT}">'
        f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>"
    ]
    add = out.append
    axis = []
    for item in layout.items:
        if type(item) is _Text:
            x, y = item.x, item.y
            extra = "" if item.anchor == "start" else f' text-anchor="{item.anchor}"'
            if item.bold:
                extra += ' font-weight="bold"'
            if item.vertical:
                extra += f' transform="rotate(-90 {x:.1f} {y:.1f})"'
            add(
                f'<text x="{x:.1f}" y="{y:.1f}" font-size="{item.size}" fill="{item.fill}"'
                f"{extra}>{escape(item.text)}</text>"
            )
        elif type(item) is _Rect:
            box = f'x="{item.x:.1f}" y="{item.y:.1f}" width="{item.w:.1f}" height="{item.h:.1f}"'
            if item.stub:
                hatch = "".join(
                    f"M{a.x1:.1f} {a.y1:.1f}L{a.x2:.1f} {a.y2:.1f}"
                    for a in _hatch(item.x, item.y, item.w, item.h)
                )
                add(
                    f'<g class="stub"><title>{escape(item.tip)}</title>'
                    f'<rect class="small" {box} fill="{STUB_FILL}"/>'
                    f'<path d="{hatch}" stroke="{STUB_LINE}" stroke-width="0.8"/>'
                    f'<rect {box} fill="none" stroke="{STUB_LINE}" stroke-width="1"/></g>'
                )
            else:
                add(
                    f'<rect class="bar" {box} fill="{item.fill}">'
                    f"<title>{escape(item.tip)}</title></rect>"
                )
        elif type(item) is _Line:
            axis.append(f"M{item.x1:.1f} {item.y1:.1f}L{item.x2:.1f} {item.y2:.1f}")
    if axis:
        add(f'<path d="{"".join(axis)}" stroke="{AXIS}" stroke-width="1"/>')
    add("</svg>")
    return Markup("".join(out))  # noqa: S704 - every text above went through escape()


def _describe(bars: Sequence[Bar]) -> str:
    return "; ".join(f"{bar.label}: {bar.text}" for bar in bars)


def bar_chart_svg(rows: Sequence[Row], *, title: str, value: Value = "workers") -> Markup:
    """A horizontal bar per row of a breakdown; SMALL rows as identical hatched stubs."""
    bars = bar_geometry(rows, value)
    return _svg(_bar_layout(bars, title, SVG_WIDTH), title, _describe(bars))


def month_chart_svg(points: Sequence[MonthPoint], *, title: str) -> Markup:
    """A column per month of workers covered; SMALL months as identical hatched stubs."""
    bars = month_geometry(points)
    return _svg(_month_layout(bars, title, SVG_WIDTH), title, _describe(bars))


def series_chart_svg(
    months: Sequence[date], series: Sequence[tuple[str, Sequence[int]]], *, title: str
) -> Markup:
    """Stacked columns per month, one colour per named series (no suppression: plain counts)."""
    stacks = series_geometry(months, series)
    names = [name for name, _values in series]
    total = _("total")
    desc = "; ".join(
        f"{stack.label}: "
        + ", ".join(f"{names[s]} {text}" for s, _l, text in stack.segments)
        + f" ({total} {stack.total})"
        for stack in stacks
    )
    return _svg(_series_layout(stacks, names, title, SVG_WIDTH), title, desc)


# --- reportlab backend ----------------------------------------------------------------------


_COLOURS: dict[str, Color] = {}


def _rl(colour: str) -> Color:
    found = _COLOURS.get(colour)
    if found is None:
        found = _COLOURS[colour] = HexColor(colour)
    return found


def _drawing(layout: _Layout) -> Drawing:
    register_fonts()
    height = layout.height
    drawing = Drawing(layout.width, height, initialFontName=FONT)  # not Helvetica
    for item in layout.items:
        if isinstance(item, _Text):
            font = BOLD if item.bold else FONT
            if item.vertical:
                text = String(
                    0, 0, item.text, fontName=font, fontSize=item.size, fillColor=_rl(item.fill)
                )
                drawing.add(Group(text, transform=(0, 1, -1, 0, item.x, height - item.y)))
            else:
                drawing.add(
                    String(
                        item.x,
                        height - item.y,
                        item.text,
                        fontName=font,
                        fontSize=item.size,
                        fillColor=_rl(item.fill),
                        textAnchor=item.anchor,
                    )
                )
        elif isinstance(item, _Rect):
            y = height - item.y - item.h
            if item.stub:
                drawing.add(
                    Rect(item.x, y, item.w, item.h, fillColor=_rl(STUB_FILL), strokeColor=None)
                )
                for a in _hatch(item.x, item.y, item.w, item.h):
                    drawing.add(
                        Line(
                            a.x1,
                            height - a.y1,
                            a.x2,
                            height - a.y2,
                            strokeColor=_rl(STUB_LINE),
                            strokeWidth=0.6,
                        )
                    )
                drawing.add(
                    Rect(
                        item.x,
                        y,
                        item.w,
                        item.h,
                        fillColor=None,
                        strokeColor=_rl(STUB_LINE),
                        strokeWidth=0.8,
                    )
                )
            else:
                drawing.add(
                    Rect(item.x, y, item.w, item.h, fillColor=_rl(item.fill), strokeColor=None)
                )
        else:
            drawing.add(
                Line(
                    item.x1,
                    height - item.y1,
                    item.x2,
                    height - item.y2,
                    strokeColor=_rl(AXIS),
                    strokeWidth=0.8,
                )
            )
    return drawing


def bar_chart_drawing(
    rows: Sequence[Row], *, title: str, value: Value = "workers", width: float = 480.0
) -> Drawing:
    """bar_chart_svg as a reportlab Drawing `width` points wide (title "" draws none)."""
    return _drawing(_bar_layout(bar_geometry(rows, value), title, width))


def month_chart_drawing(
    points: Sequence[MonthPoint], *, title: str, width: float = 480.0
) -> Drawing:
    """month_chart_svg as a reportlab Drawing `width` points wide (title "" draws none)."""
    return _drawing(_month_layout(month_geometry(points), title, width))
