"""Small, accessible SVG charts rendered on the server (no JavaScript, no dependency).

Every chart is `<svg role="img" aria-labelledby="<title id> <desc id>">` with a `<title>` and
a `<desc>`; pages print the same figures as an HTML table beside it. Every bar carries its
figures as attributes (`data-label`, `data-series`, `data-value`) and a `<title>` tooltip, so
what is drawn can be checked against what is counted. All text is escaped.
"""

from __future__ import annotations

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
    scale_max = float(max_value if max_value is not None else top) or 1.0
    left, right, top_pad, bottom = 44, 8, 10, 48 + (16 if len(series) > 1 else 0)
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    parts = _head(width, height, title, description, "bars")
    axis_ticks = ticks if ticks is not None else [scale_max * i / 4 for i in range(5)]
    for tick in axis_ticks:
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
        parts.append(
            f'<text class="label" x="{_fmt(gx + group_w * 0.4)}" y="{top_pad + plot_h + 14}" '
            f'text-anchor="middle" font-size="10">{escape(label)}</text>'
        )
    parts.append(
        f'<line class="axis" x1="{left}" x2="{width - right}" y1="{top_pad + plot_h}" '
        f'y2="{top_pad + plot_h}" stroke="#333"/>'
    )
    if len(series) > 1:
        x = left
        for s_index, s in enumerate(series):
            colour = PALETTE[s_index % len(PALETTE)]
            parts.append(
                f'<rect class="key" x="{x}" y="{height - 14}" width="10" height="10" '
                f'fill="{colour}"/><text x="{x + 14}" y="{height - 5}" font-size="11">'
                f"{escape(s.name)}</text>"
            )
            x += 14 + 7 * len(s.name) + 16
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
    height = top_pad + len(rows) * (row_h + gap) + 28
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
    x = label_w
    for s_index, segment in enumerate(segments):
        colour = LEVEL_COLOURS[s_index % len(LEVEL_COLOURS)]
        parts.append(
            f'<rect class="key" x="{x}" y="{height - 16}" width="10" height="10" '
            f'fill="{colour}"/><text x="{x + 14}" y="{height - 7}" font-size="11">'
            f"{escape(segment)}</text>"
        )
        x += 14 + 7 * len(segment) + 14
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above went through escape()
