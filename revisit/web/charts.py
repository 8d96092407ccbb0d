"""A bar chart as inline SVG, drawn on the server: the trend needs no JavaScript and prints well.

Two series are drawn side by side on one scale (accounts seen, alerts), never one over the other:
an alert bar drawn inside an accounts bar reads as a share of it, which it is not (an account can be
alerted twice a day, or seen without an alert). A y axis with its gridlines gives the scale; the
page puts the same numbers in a table for screen readers and for reading exact values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape


@dataclass(frozen=True)
class Bar:
    label: str  # shown under every few days and in the tooltip
    value: int
    secondary: int = 0  # the second series, drawn beside the first


def nice_top(largest: int) -> int:
    """The axis's top: 1, 2 or 5 times a power of ten, at or above ``largest`` (at least 1)."""
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            if factor * magnitude >= largest:
                return factor * magnitude
        magnitude *= 10


def bar_chart(
    bars: Sequence[Bar],
    title: str,
    width: int = 760,
    height: int = 200,
    legend: tuple[str, str] = ("", ""),
    describe: Callable[[Bar], str] | None = None,
) -> str:
    """SVG markup; each day has a <title> with its label and both values (hover, screen readers):
    ``describe(bar)`` when given, so that a language can put the numbers where its grammar wants them."""
    top = nice_top(max([bar.value for bar in bars] + [bar.secondary for bar in bars] + [1]))
    left, bottom, upper = 36, height - 22, 10
    plot_height = bottom - upper
    step = (width - left) / max(1, len(bars))
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    for tick in sorted({0, top // 2, top} if top >= 2 else {0, top}):
        y = bottom - plot_height * tick / top
        parts.append(
            f'<line class="grid" x1="{left}" x2="{width}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>'
        )
    label_every = max(1, len(bars) // 7)
    for i, bar in enumerate(bars):
        x = left + i * step + step * 0.1
        w = step * 0.4
        h = plot_height * bar.value / top
        h2 = plot_height * bar.secondary / top
        tooltip = describe(bar) if describe else f"{bar.label}: {bar.value} {legend[0]}, {bar.secondary} {legend[1]}"
        parts.append(
            f"<g><title>{escape(tooltip)}</title>"
            f'<rect class="bar" x="{x:.1f}" y="{bottom - h:.1f}" width="{w:.1f}" height="{h:.1f}"/>'
            f'<rect class="bar2" x="{x + w:.1f}" y="{bottom - h2:.1f}" width="{w:.1f}" height="{h2:.1f}"/></g>'
        )
        if i % label_every == 0:
            parts.append(f'<text x="{x + w:.1f}" y="{height - 6}" text-anchor="middle">{escape(bar.label)}</text>')
    parts.append(f'<line class="axis-line" x1="{left}" x2="{width}" y1="{bottom}" y2="{bottom}"/></svg>')
    return "".join(parts)
