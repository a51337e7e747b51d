"""Server-side SVG charts for reports, PDFs and pages without JavaScript.

WeasyPrint cannot run JavaScript, and a page must stay readable without it, so charts are drawn
here as plain SVG. They read without colour: every series has its own dash pattern and a text
label at its end, and bars carry their value. Only presentation attributes are used (no ``style``),
so the strict CSP holds when the SVG is inlined in a page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ("#8b0000", "#c0392b", "#b7791f", "#2f6f4f", "#4a5568", "#1f5fbf", "#6b46c1", "#2c7a7b")
DASHES = ("", "8 4", "2 3", "10 3 2 3", "1 5", "12 6", "4 2 1 2", "6 6")


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[float]


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def line_chart(
    title: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    *,
    width: int = 720,
    height: int = 260,
) -> str:
    """A multi-series line chart; x labels are thinned so at most ~8 are printed."""
    left, right, top, bottom = 48, 110, 28, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(x_labels), 1)
    peak = max([max(s.values, default=0) for s in series] + [1])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="{left}" y="16" font-size="13" font-weight="bold" fill="#1d232b">{escape(title)}</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#5b6572"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#5b6572"/>',
    ]
    for tick in range(5):
        value = peak * tick / 4
        y = top + plot_h - plot_h * tick / 4
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="10" text-anchor="end" fill="#5b6572">'
            f"{_fmt(value)}</text>"
        )
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
            'stroke="#d9dee5" stroke-width="0.5"/>'
        )
    step = max(1, n // 8)
    for i in range(0, len(x_labels), step):
        x = left + (plot_w * i / max(n - 1, 1))
        parts.append(
            f'<text x="{x:.1f}" y="{top + plot_h + 16}" font-size="10" text-anchor="middle" fill="#5b6572">'
            f"{escape(x_labels[i])}</text>"
        )
    for index, s in enumerate(series):
        color, dash = PALETTE[index % len(PALETTE)], DASHES[index % len(DASHES)]
        points = " ".join(
            f"{left + plot_w * i / max(n - 1, 1):.1f},{top + plot_h - plot_h * v / peak:.1f}"
            for i, v in enumerate(s.values)
        )
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2"{dash_attr}/>'
        )
        if s.values:
            last_y = top + plot_h - plot_h * s.values[-1] / peak
            parts.append(
                f'<text x="{left + plot_w + 6}" y="{last_y + 4:.1f}" font-size="11" fill="{color}">'
                f"{escape(s.label)} {_fmt(s.values[-1])}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(title: str, values: Mapping[str, float], *, width: int = 420, height: int = 220) -> str:
    """Horizontal bars with the value printed on each bar."""
    left, top, row_h = 90, 28, max(18, (height - 36) // max(len(values), 1))
    plot_w = width - left - 50
    peak = max(list(values.values()) + [1])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="4" y="16" font-size="13" font-weight="bold" fill="#1d232b">{escape(title)}</text>',
    ]
    for index, (label, value) in enumerate(values.items()):
        y = top + index * row_h
        bar = plot_w * value / peak
        color = PALETTE[index % len(PALETTE)]
        parts.append(
            f'<text x="{left - 6}" y="{y + row_h * 0.65:.1f}" font-size="11" text-anchor="end" '
            f'fill="#1d232b">{escape(label)}</text>'
        )
        parts.append(f'<rect x="{left}" y="{y + 2}" width="{bar:.1f}" height="{row_h - 6}" fill="{color}"/>')
        parts.append(
            f'<text x="{left + bar + 4:.1f}" y="{y + row_h * 0.65:.1f}" font-size="11" fill="#1d232b">'
            f"{_fmt(value)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
