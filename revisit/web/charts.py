"""A bar chart as inline SVG, drawn on the server: the trend needs no JavaScript and prints well."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape


@dataclass(frozen=True)
class Bar:
    label: str  # shown under every few bars and in the tooltip
    value: int
    secondary: int = 0  # drawn as a darker part of the bar (alerts among the accounts seen)


def bar_chart(
    bars: Sequence[Bar], title: str, width: int = 760, height: int = 180, legend: tuple[str, str] = ("", "")
) -> str:
    """SVG markup; each bar has a <title> with its label and values (hover, screen readers)."""
    top = max([bar.value for bar in bars] + [bar.secondary for bar in bars] + [1])
    plot_height, base = height - 30, height - 20
    step = width / max(1, len(bars))
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    label_every = max(1, len(bars) // 7)
    for i, bar in enumerate(bars):
        x = i * step + step * 0.15
        w = step * 0.7
        h = plot_height * bar.value / top
        h2 = plot_height * bar.secondary / top
        tooltip = f"{bar.label}: {bar.value} {legend[0]}".strip()
        if legend[1]:
            tooltip += f", {bar.secondary} {legend[1]}"
        parts.append(
            f"<g><title>{escape(tooltip)}</title>"
            f'<rect class="bar" x="{x:.1f}" y="{base - h:.1f}" width="{w:.1f}" height="{h:.1f}"/>'
            f'<rect class="bar2" x="{x:.1f}" y="{base - h2:.1f}" width="{w:.1f}" height="{h2:.1f}"/></g>'
        )
        if i % label_every == 0:
            parts.append(f'<text x="{x + w / 2:.1f}" y="{height - 4}" text-anchor="middle">{escape(bar.label)}</text>')
    parts.append(f'<text x="0" y="12" class="axis">{top}</text></svg>')
    return "".join(parts)
