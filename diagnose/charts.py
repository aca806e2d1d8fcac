"""Inline SVG charts for the self-contained HTML report (no scripts, no external assets).

The time buckets are computed with pandas from the connections' first_seen (counted per minute
by the pipeline, so the chart covers every connection even when the table lists a sample); the bucket size is
chosen from the report window so a 10-minute CI run and a 24-hour scheduled pull both come out
as a readable number of bars.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import pandas as pd

from .render.escape import html_text
from .report import CLASS_LABELS, OUTCOMES

MAX_BARS = 48
# (pandas frequency, seconds, label format) from finest to coarsest.
BUCKETS = (
    ("1min", 60, "%H:%M"), ("5min", 300, "%H:%M"), ("15min", 900, "%H:%M"),
    ("1h", 3600, "%m-%d %H:%M"), ("3h", 10800, "%m-%d %H:%M"), ("6h", 21600, "%m-%d %H:%M"),
    ("1D", 86400, "%Y-%m-%d"), ("7D", 604800, "%Y-%m-%d"),
)
COLORS = {
    "routing_failure": "#c0392b", "connection_failure": "#8e44ad", "execution_timeout": "#d35400",
    "events_not_delivered": "#b7950b", "lifecycle_incomplete": "#e67e22",
    "client_timeout_unexplained": "#7f8c8d", "healthy": "#27ae60", "in_progress": "#2e86c1",
}
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 760, 280, 44, 80, 12
LEGEND_COLUMNS, LEGEND_STEP = 3, 240


def choose_bucket(start: datetime, end: datetime) -> tuple[str, str]:
    """The finest bucket (frequency, label format) that gives at most MAX_BARS bars."""
    span = max(0.0, (end - start).total_seconds())
    for freq, seconds, fmt in BUCKETS:
        if span / seconds < MAX_BARS:
            return freq, fmt
    return BUCKETS[-1][0], BUCKETS[-1][2]


def outcome_cells(report) -> list[tuple[datetime, str, int]]:
    """(time, outcome, connections): the report's exact per-minute counts when it has them
    (its rows may be a capped sample), else one cell per row."""
    if report.outcomes_by_time is not None:
        return [(when, outcome, n) for (when, outcome), n in report.outcomes_by_time.items()]
    return [(o.first_seen, o.outcome, 1) for o in report.outcomes if o.first_seen is not None]


def outcome_buckets(
    cells: Iterable[tuple[datetime, str, int]],
    window: tuple[datetime | None, datetime | None] = (None, None),
) -> tuple[pd.DataFrame, str]:
    """Connections per (time bucket × outcome), every bucket of the window present; + label fmt."""
    rows = list(cells)
    if not rows:
        return pd.DataFrame(), "%H:%M"
    frame = pd.DataFrame(rows, columns=["ts", "outcome", "n"])
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    start = _ts(window[0]) or frame["ts"].min()
    end = _ts(window[1]) or frame["ts"].max()
    start, end = min(start, frame["ts"].min()), max(end, frame["ts"].max())
    freq, fmt = choose_bucket(start.to_pydatetime(), end.to_pydatetime())
    frame["bucket"] = frame["ts"].dt.floor(freq)
    table = pd.crosstab(frame["bucket"], frame["outcome"], values=frame["n"], aggfunc="sum"
                        ).fillna(0).astype(int)
    full = pd.date_range(start.floor(freq), end.floor(freq), freq=freq)
    columns = [c for c in OUTCOMES if c in table.columns]
    columns += sorted(c for c in table.columns if c not in OUTCOMES)
    return table.reindex(index=full, columns=columns, fill_value=0), fmt


def _ts(value: datetime | None) -> pd.Timestamp | None:
    return pd.Timestamp(value).tz_convert("UTC") if value is not None else None


def stacked_bars_svg(table: pd.DataFrame, labels: list[str], title: str) -> str:
    """A stacked bar chart: one bar per row of `table`, one colour per column (an outcome)."""
    if table.empty:
        return '<p class="muted">No timed connections to chart.</p>'
    totals = table.sum(axis=1).tolist()
    peak = max(max(totals), 1)
    plot_w, plot_h = WIDTH - LEFT - 10, HEIGHT - TOP - BOTTOM
    step = plot_w / len(table)
    bar_w = max(1.0, step * 0.8)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'aria-label="{html_text(title)}">',
        f"<title>{html_text(title)}</title>",
        *_axes(peak, plot_w, plot_h),
    ]
    for i, (label, counts) in enumerate(zip(labels, table.itertuples(index=False), strict=True)):
        x = LEFT + i * step + (step - bar_w) / 2
        y = TOP + plot_h
        for outcome, n in zip(table.columns, counts, strict=True):
            if not n:
                continue
            h = plot_h * n / peak
            y -= h
            tip = f"{label} · {CLASS_LABELS.get(outcome, outcome)}: {n}"
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{COLORS.get(outcome, "#34495e")}"><title>{html_text(tip)}</title></rect>'
            )
    parts += _x_labels(labels, step, plot_h)
    parts += _legend(list(table.columns))
    parts.append("</svg>")
    return "\n".join(parts)


def _axes(peak: int, plot_w: float, plot_h: float) -> list[str]:
    base = TOP + plot_h
    return [
        f'<line x1="{LEFT}" y1="{base}" x2="{LEFT + plot_w:.0f}" y2="{base}" stroke="#888"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{base}" stroke="#888"/>',
        f'<text x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end" font-size="11">{peak}</text>',
        f'<text x="{LEFT - 6}" y="{base}" text-anchor="end" font-size="11">0</text>',
    ]


def _x_labels(labels: list[str], step: float, plot_h: float) -> list[str]:
    n = len(labels)
    picks = sorted({0, n // 2, n - 1}) if n > 2 else list(range(n))
    y = TOP + plot_h + 14
    return [
        f'<text x="{LEFT + i * step + step / 2:.1f}" y="{y}" text-anchor="middle" '
        f'font-size="11">{html_text(labels[i])}</text>'
        for i in picks
    ]


def _legend(columns: list[str]) -> list[str]:
    top = HEIGHT - BOTTOM + 36
    out = []
    for i, outcome in enumerate(columns):
        x = LEFT + (i % LEGEND_COLUMNS) * LEGEND_STEP
        row_y = top + (i // LEGEND_COLUMNS) * 15
        out.append(f'<rect x="{x}" y="{row_y - 9}" width="10" height="10" '
                   f'fill="{COLORS.get(outcome, "#34495e")}"/>')
        out.append(f'<text x="{x + 14}" y="{row_y}" font-size="11">'
                   f"{html_text(CLASS_LABELS.get(outcome, outcome))}</text>")
    return out


def outcomes_over_time_svg(
    cells: Iterable[tuple[datetime, str, int]],
    window: tuple[datetime | None, datetime | None] = (None, None),
) -> str:
    """The report's main chart: connections by outcome per time bucket of the window."""
    table, fmt = outcome_buckets(cells, window)
    labels = [ts.strftime(fmt) for ts in table.index] if not table.empty else []
    return stacked_bars_svg(table, labels, "Connections by outcome over time (UTC, by first seen)")


def history_svg(runs: list[tuple[str, dict[str, int]]]) -> str:
    """Outcome counts per run (previous reports, oldest first, then this one)."""
    if not runs:
        return ""
    table = pd.DataFrame([counts for _, counts in runs]).fillna(0).astype(int)
    columns = [c for c in OUTCOMES if c in table.columns]
    table = table.reindex(columns=columns, fill_value=0)
    return stacked_bars_svg(table, [label for label, _ in runs], "Connections by outcome per run")
