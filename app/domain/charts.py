"""Server-rendered SVG charts: no chart library on the phone, a few kilobytes per chart, and
they print. A chart has axes with ticks, a unit on the value axis, a legend, and a text
alternative (<title>, <desc>); pages put the numbers in a table beside it too. Pure."""

from __future__ import annotations

import math
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 420, 240
LEFT, RIGHT, TOP, BOTTOM = 40, 8, 26, 42
# Two series that differ in more than colour (print in grey, colour blindness): solid vs dashed
# for lines, filled vs hatched-outline for bars.
STYLES = (
    {"stroke": "#1d4ed8", "fill": "#1d4ed8", "dash": ""},
    {"stroke": "#b45309", "fill": "#fde68a", "dash": "6 4"},
)


@dataclass(frozen=True)
class Series:
    name: str
    values: list[float | None]


def nice_top(high: float) -> tuple[float, float]:
    """(axis top, tick step): round ticks, at most 5, above the highest value; whole steps (the
    charts count things: half a matter is no tick)."""
    if high <= 4:
        return 4.0, 1.0
    raw = high / 4
    power = 10 ** math.floor(math.log10(raw))
    step = max(1.0, next(s * power for s in (1, 2, 2.5, 5, 10) if s * power >= raw))
    return step * math.ceil(high / step), step


def _number(value: float) -> str:
    return f"{value:g}" if value != int(value) else str(int(value))


def render(
    kind: str,
    title: str,
    desc: str,
    labels: list[str],
    series: list[Series],
    unit: str,
    top: float | None = None,
    chart_id: str = "chart",
) -> Markup:
    """A bar chart (kind "bar": one group of bars per label) or a line chart ("line"). `top`
    fixes the value axis (100 for percentages); else it is rounded up from the data."""
    highest = max((v for s in series for v in s.values if v is not None), default=0)
    top, step = (top, top / 4) if top else nice_top(highest)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(1, len(labels))

    def y(value: float) -> float:
        return TOP + plot_h * (1 - value / top)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" class="plot" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d">',
        f'<title id="{chart_id}-t">{escape(title)}</title><desc id="{chart_id}-d">{escape(desc)}</desc>',
        f'<text x="4" y="14" font-size="13" fill="#333">{escape(unit)}</text>',
    ]
    ticks = int(round(top / step))
    for i in range(ticks + 1):
        value = step * i
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="#ddd"/>'
            f'<text x="{LEFT - 4}" y="{y(value) + 4:.1f}" font-size="13" text-anchor="end" fill="#333">'
            f"{_number(value)}</text>"
        )
    parts.append(
        f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}" stroke="#333"/>'
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" stroke="#333"/>'
    )
    every = max(1, math.ceil(len(labels) / 5))  # at most 5 labels on the axis: they must fit
    for i, label in enumerate(labels):
        if i % every == 0:
            x = LEFT + slot * (i + 0.5)
            parts.append(
                f'<text x="{x:.1f}" y="{TOP + plot_h + 16}" font-size="13" text-anchor="middle" fill="#333">'
                f"{escape(label)}</text>"
            )
    parts.extend(_bars(series, slot, y, top) if kind == "bar" else _lines(series, slot, y))
    for n, s in enumerate(series):
        style = STYLES[n % len(STYLES)]
        x = LEFT + n * 170
        parts.append(
            f'<rect x="{x}" y="{HEIGHT - 14}" width="14" height="10" fill="{style["fill"]}" '
            f'stroke="{style["stroke"]}" stroke-dasharray="{style["dash"]}"/>'
            f'<text x="{x + 18}" y="{HEIGHT - 5}" font-size="13" fill="#333">{escape(s.name)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _bars(series: list[Series], slot: float, y, top: float) -> list[str]:
    width = slot * 0.8 / max(1, len(series))
    out = []
    for n, s in enumerate(series):
        style = STYLES[n % len(STYLES)]
        for i, value in enumerate(s.values):
            if value is None:
                continue
            x = LEFT + slot * i + slot * 0.1 + width * n
            out.append(
                f'<rect x="{x:.1f}" y="{y(value):.1f}" width="{width:.1f}" height="{y(0) - y(value):.1f}" '
                f'fill="{style["fill"]}" stroke="{style["stroke"]}" stroke-dasharray="{style["dash"]}">'
                f"<title>{escape(s.name)}: {_number(value)}</title></rect>"
            )
    return out


def _lines(series: list[Series], slot: float, y) -> list[str]:
    out = []
    for n, s in enumerate(series):
        style = STYLES[n % len(STYLES)]
        points = [(LEFT + slot * (i + 0.5), y(v)) for i, v in enumerate(s.values) if v is not None]
        if points:
            path = " ".join(f"{x:.1f},{yy:.1f}" for x, yy in points)
            out.append(
                f'<polyline points="{path}" fill="none" stroke="{style["stroke"]}" stroke-width="2" '
                f'stroke-dasharray="{style["dash"]}"/>'
            )
            out.extend(f'<circle cx="{x:.1f}" cy="{yy:.1f}" r="3" fill="{style["stroke"]}"/>' for x, yy in points)
    return out


@dataclass(frozen=True)
class Mark:
    """A labelled point on a curve (both coordinates as fractions, 0–1)."""

    x: float
    y: float
    label: str


def curve(
    title: str,
    desc: str,
    points: list[tuple[float, float]],
    marks: list[Mark],
    x_unit: str,
    y_unit: str,
    chart_id: str = "chart",
) -> Markup:
    """A cumulative-share curve (the 80/20 view): both axes 0–100 %, the diagonal of equal
    shares dashed for comparison, and labelled points."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def at(x: float, y: float) -> tuple[float, float]:
        return LEFT + plot_w * x, TOP + plot_h * (1 - y)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" class="plot" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d">',
        f'<title id="{chart_id}-t">{escape(title)}</title><desc id="{chart_id}-d">{escape(desc)}</desc>',
        f'<text x="4" y="14" font-size="13" fill="#333">{escape(y_unit)}</text>',
    ]
    for i in range(6):
        share = i / 5
        (x, y0), (_x, y) = at(share, 0), at(0, share)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{LEFT - 4}" y="{y + 4:.1f}" font-size="13" text-anchor="end" fill="#333">{i * 20}</text>'
            f'<text x="{x:.1f}" y="{y0 + 16:.1f}" font-size="13" text-anchor="{"end" if i == 5 else "middle"}" '
            f'fill="#333">{i * 20}</text>'  # 100 at the edge: inside the picture
        )
    (x0, y0), (x1, y1) = at(0, 0), at(1, 1)
    parts.append(
        f'<line x1="{x0}" x2="{x0}" y1="{y1}" y2="{y0}" stroke="#333"/>'
        f'<line x1="{x0}" x2="{x1}" y1="{y0}" y2="{y0}" stroke="#333"/>'
        f'<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y1}" stroke="#999" stroke-dasharray="4 4"/>'
        f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 5}" font-size="13" text-anchor="end" fill="#333">{escape(x_unit)}</text>'
    )
    if points:
        path = " ".join("{:.1f},{:.1f}".format(*at(x, y)) for x, y in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{STYLES[0]["stroke"]}" stroke-width="2.5"/>')
    for mark in marks:
        x, y = at(mark.x, mark.y)
        right = mark.x <= 0.5  # the label on the side with room
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y:.1f}" y2="{y0}" stroke="#b45309" stroke-dasharray="2 3"/>'
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4.5" fill="#fff" stroke="#b45309" stroke-width="2"/>'
            f'<text x="{x + (8 if right else -8):.1f}" y="{y + 18:.1f}" font-size="13" fill="#111" '
            f'stroke="#fff" stroke-width="4" paint-order="stroke" '  # a halo: legible across the line
            f'text-anchor="{"start" if right else "end"}">{escape(mark.label)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
