"""Small, accessible SVG charts rendered on the server (no JavaScript, no dependency).

Every chart is `<svg role="img" aria-labelledby="<title id> <desc id>">` with a `<title>` and
a `<desc>`; pages print the same figures as an HTML table beside it. Every bar carries its
figures as attributes (`data-label`, `data-series`, `data-value`) and a `<title>` tooltip, so
what is drawn can be checked against what is counted. All text is escaped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import count

from markupsafe import Markup, escape

PALETTE = ("#1f5f8b", "#d9822b", "#3c8d40", "#8e44ad", "#c0392b", "#7f8c8d", "#16a085")
LEVEL_COLOURS = ("#d7301f", "#fc8d59", "#fdcc8a", "#91bfdb", "#2c7bb6")  # levels 1..5
_ids = count(1)


@dataclass(frozen=True)
class Series:
    name: str
    values: tuple[float, ...]


def _fmt(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def nice_ticks(top: float) -> list[float]:
    """Axis ticks from 0 past `top` in steps of 1, 2 or 5 times a power of ten (never below
    1: the figures are counts or levels)."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    step = max(step, 1.0)
    return [i * step for i in range(math.ceil(top / step) + 1)]


def _legend(
    names: list[str], colours: list[str], x0: int, width: int, top: int
) -> tuple[list[str], int]:
    """Colour keys in rows that fit the width; returns the markup and the rows' height."""
    parts: list[str] = []
    x, y = x0, top
    for name, colour in zip(names, colours, strict=True):
        w = 14 + 7 * len(name) + 14
        if x > x0 and x + w > width:
            x, y = x0, y + 16
        parts.append(
            f'<rect class="key" x="{x}" y="{y}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 14}" y="{y + 9}" font-size="11">{escape(name)}</text>'
        )
        x += w
    return parts, y - top + 16


def _head(width: int, height: int, title: str, description: str, kind: str) -> list[str]:
    n = next(_ids)
    tid, did = f"chart-{n}-title", f"chart-{n}-desc"
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" role="img" '
        f'aria-labelledby="{tid} {did}" viewBox="0 0 {width} {height}" width="100%" '
        f'preserveAspectRatio="xMinYMin meet">',
        f'<title id="{tid}">{escape(title)}</title>',
        f'<desc id="{did}">{escape(description)}</desc>',
    ]


def bar_chart(
    title: str,
    description: str,
    labels: list[str],
    series: list[Series],
    *,
    max_value: float | None = None,
    ticks: list[float] | None = None,
    width: int = 640,
    height: int = 260,
) -> Markup:
    """Vertical bars, grouped by label (one bar per series in each group). Bar heights are
    proportional to the values on a scale from 0 to `max_value` (default: the largest)."""
    top = max([v for s in series for v in s.values] + [0.0])
    if ticks is None:
        ticks = nice_ticks(float(max_value) if max_value is not None else top)
    scale_max = float(max_value if max_value is not None else ticks[-1]) or 1.0
    slanted = len(labels) > 6  # many groups: labels slant so they do not overlap
    colours = [PALETTE[i % len(PALETTE)] for i in range(len(series))]
    legend, legend_h = (
        _legend([s.name for s in series], colours, 44, width - 8, 0) if len(series) > 1 else ([], 0)
    )
    bottom = (96 if slanted else 30) + legend_h
    height += legend_h
    left, right, top_pad = 44, 8, 10
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    parts = _head(width, height, title, description, "bars")
    for tick in ticks:
        y = top_pad + plot_h - plot_h * tick / scale_max
        parts.append(
            f'<line class="grid" x1="{left}" x2="{width - right}" y1="{_fmt(y)}" '
            f'y2="{_fmt(y)}" stroke="#ddd"/>'
            f'<text class="tick" x="{left - 4}" y="{_fmt(y + 4)}" text-anchor="end" '
            f'font-size="11">{escape(_number(tick))}</text>'
        )
    groups = max(len(labels), 1)
    group_w = plot_w / groups
    bar_w = group_w * 0.8 / max(len(series), 1)
    for g, label in enumerate(labels):
        gx = left + g * group_w + group_w * 0.1
        for s_index, s in enumerate(series):
            value = s.values[g] if g < len(s.values) else 0.0
            h = plot_h * min(value, scale_max) / scale_max
            x = gx + s_index * bar_w
            y = top_pad + plot_h - h
            colour = PALETTE[s_index % len(PALETTE)]
            parts.append(
                f'<rect class="bar" x="{_fmt(x)}" y="{_fmt(y)}" width="{_fmt(bar_w * 0.92)}" '
                f'height="{_fmt(h)}" fill="{colour}" data-label="{escape(label)}" '
                f'data-series="{escape(s.name)}" data-value="{escape(_number(value))}">'
                f"<title>{escape(label)}, {escape(s.name)}: {escape(_number(value))}</title></rect>"
            )
        lx, ly = _fmt(gx + group_w * 0.4), top_pad + plot_h + 14
        shown = label if len(label) <= 24 else label[:23] + "…"  # whole in the table
        if slanted:
            parts.append(
                f'<text class="label" x="{lx}" y="{ly}" text-anchor="end" font-size="10" '
                f'transform="rotate(-35 {lx} {ly})">{escape(shown)}</text>'
            )
        else:
            parts.append(
                f'<text class="label" x="{lx}" y="{ly}" text-anchor="middle" '
                f'font-size="10">{escape(shown)}</text>'
            )
    parts.append(
        f'<line class="axis" x1="{left}" x2="{width - right}" y1="{top_pad + plot_h}" '
        f'y2="{top_pad + plot_h}" stroke="#333"/>'
    )
    if legend:
        parts.append(f'<g class="legend" transform="translate(0 {height - legend_h})">')
        parts += legend
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above went through escape()


def stacked_bars(
    title: str,
    description: str,
    rows: list[str],
    segments: list[str],
    values: list[list[int]],
    *,
    width: int = 640,
) -> Markup:
    """One horizontal bar per row, split into segments in proportion to their counts (a
    distribution: each row's bar is its whole). `values[row][segment]`."""
    label_w, right, row_h, gap, top_pad = 170, 8, 22, 8, 6
    colours = [LEVEL_COLOURS[i % len(LEVEL_COLOURS)] for i in range(len(segments))]
    legend, legend_h = _legend(segments, colours, label_w, width - right, 0)
    legend_top = top_pad + len(rows) * (row_h + gap) + 6
    height = legend_top + legend_h + 4
    plot_w = width - label_w - right
    parts = _head(width, height, title, description, "stacked")
    for r, row in enumerate(rows):
        y = top_pad + r * (row_h + gap)
        parts.append(
            f'<text class="label" x="{label_w - 6}" y="{y + row_h * 0.7:.1f}" '
            f'text-anchor="end" font-size="11">{escape(row)}</text>'
        )
        total = sum(values[r]) or 1
        x = float(label_w)
        for s_index, segment in enumerate(segments):
            value = values[r][s_index]
            w = plot_w * value / total
            colour = LEVEL_COLOURS[s_index % len(LEVEL_COLOURS)]
            parts.append(
                f'<rect class="bar" x="{_fmt(x)}" y="{y}" width="{_fmt(w)}" height="{row_h}" '
                f'fill="{colour}" data-label="{escape(row)}" data-series="{escape(segment)}" '
                f'data-value="{value}"><title>{escape(row)}, {escape(segment)}: {value}</title>'
                "</rect>"
            )
            x += w
    parts.append(f'<g class="legend" transform="translate(0 {legend_top})">')
    parts += legend
    parts.append("</g></svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above went through escape()
