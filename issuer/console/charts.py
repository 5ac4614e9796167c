"""Charts drawn on the server as SVG: no script, readable by a screen reader (role="img" with a
<title> and <desc>), each shown with the table of its data beside it (see dashboard.html).
Only presentation attributes are used (no style attributes), so the page policy allows them."""

from __future__ import annotations

from markupsafe import Markup, escape

WIDTH, ROW, LABEL, PAD = 480, 30, 170, 8


def bar_chart(chart_id: str, title: str, desc: str, rows: list[tuple[str, float]], *, unit: str = "") -> Markup:
    """Horizontal bars, one per (label, value); values of 0 or more."""
    top = max((value for _, value in rows), default=0) or 1
    height = max(1, len(rows)) * ROW + PAD * 2
    span = WIDTH - LABEL - 70
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="{chart_id}-t {chart_id}-d" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" preserveAspectRatio="xMinYMin meet" class="chart">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(desc)}</desc>',
    ]
    if not rows:
        parts.append(f'<text x="0" y="{PAD + 16}" fill="#4d4d4d">No data yet</text>')
    for index, (label, value) in enumerate(rows):
        label = label.removeprefix("Week of ")
        y = PAD + index * ROW
        length = round(span * value / top, 1)
        shown = f"{value:g}{unit}"
        parts.append(f'<text x="{LABEL - 8}" y="{y + 18}" text-anchor="end" fill="#1a1a1a" font-size="15">'
                     f'{escape(_short(label))}</text>')
        parts.append(f'<rect x="{LABEL}" y="{y + 5}" width="{length}" height="{ROW - 10}" fill="#0b5394"/>')
        parts.append(f'<text x="{LABEL + length + 6}" y="{y + 18}" fill="#1a1a1a" font-size="15">{escape(shown)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _short(label: str, limit: int = 20) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"
