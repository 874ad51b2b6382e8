"""The SVG helper: accessible, escaped, and drawing exactly the figures it is given."""

from __future__ import annotations

from readiness.charts import Series, bar_chart, nice_ticks, stacked_bars
from tests.readiness.support import parse_svg

SVG = "{http://www.w3.org/2000/svg}"


def test_bar_heights_follow_the_values_and_labels() -> None:
    svg = bar_chart("Posts <per> week", "Posts & members", ["a", "b", "c"],
                    [Series("Posts", (10, 5, 0)), Series("Members", (2, 4, 1))])  # fmt: skip
    root = parse_svg(str(svg))
    assert root.get("role") == "img"
    title_id, desc_id = (root.get("aria-labelledby") or "").split()
    assert root.find(f"{SVG}title").get("id") == title_id  # type: ignore[union-attr]
    assert root.find(f"{SVG}title").text == "Posts <per> week"  # type: ignore[union-attr]
    assert root.find(f"{SVG}desc").get("id") == desc_id  # type: ignore[union-attr]
    assert root.find(f"{SVG}desc").text == "Posts & members"  # type: ignore[union-attr]
    bars = root.findall(f"{SVG}rect[@class='bar']")
    found = {(b.get("data-label"), b.get("data-series")): float(b.get("height") or 0) for b in bars}
    assert len(found) == 6
    tallest = found[("a", "Posts")]
    assert tallest > 0
    assert abs(found[("b", "Posts")] / tallest - 0.5) < 1e-6
    assert found[("c", "Posts")] == 0
    assert abs(found[("b", "Members")] / tallest - 0.4) < 1e-6
    assert [b.find(f"{SVG}title").text for b in bars[:2]] == ["a, Posts: 10", "a, Members: 2"]  # type: ignore[union-attr]
    assert "<per>" not in str(svg)  # escaped


def test_a_fixed_scale_and_an_empty_chart() -> None:
    root = parse_svg(str(bar_chart("t", "d", ["x"], [Series("s", (5,))], max_value=5)))
    empty = parse_svg(str(bar_chart("t", "d", ["x", "y"], [Series("s", (0, 0))])))
    assert all(float(b.get("height") or 1) == 0 for b in empty.findall(f"{SVG}rect[@class='bar']"))
    half = parse_svg(str(bar_chart("t", "d", ["x"], [Series("s", (2.5,))], max_value=5)))
    full_h = float(root.find(f"{SVG}rect[@class='bar']").get("height") or 0)  # type: ignore[union-attr]
    half_h = float(half.find(f"{SVG}rect[@class='bar']").get("height") or 0)  # type: ignore[union-attr]
    assert abs(half_h / full_h - 0.5) < 1e-6


def test_stacked_bars_split_each_row_in_proportion() -> None:
    svg = stacked_bars("Distribution", "desc", ["Data", "Legal"], ["1", "2", "3"],
                       [[1, 1, 2], [0, 3, 0]])  # fmt: skip
    root = parse_svg(str(svg))
    bars = root.findall(f"{SVG}rect[@class='bar']")
    widths = {(b.get("data-label"), b.get("data-series")): float(b.get("width") or 0) for b in bars}
    row = widths[("Data", "1")] + widths[("Data", "2")] + widths[("Data", "3")]
    assert abs(widths[("Data", "3")] / row - 0.5) < 1e-6
    assert abs(widths[("Legal", "2")] - row) < 1e-6 and widths[("Legal", "1")] == 0
    assert [b.get("data-value") for b in bars] == ["1", "1", "2", "0", "3", "0"]


def test_axis_ticks_are_round_counts() -> None:
    assert nice_ticks(0) == [0, 1]
    assert nice_ticks(2) == [0, 1, 2]
    assert nice_ticks(6) == [0, 2, 4, 6]
    assert nice_ticks(37) == [0, 10, 20, 30, 40]
    assert nice_ticks(11_000) == [0, 5000, 10000, 15000]
