"""Bar charts drawn on the server as inline SVG: no script, readable offline, and described
for screen readers (a title, and each bar's figures as its tooltip)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape

from markupsafe import Markup

from seedgate.domain.usage import Bucket

WIDTH, HEIGHT = 560, 190
LEFT, RIGHT, TOP, BOTTOM = 46, 6, 16, 22
GAP = 0.2  # of a bar's slot left empty


@dataclass(frozen=True, slots=True)
class Bar:
    label: str  # on the x axis (may be empty)
    tooltip: str
    segments: Sequence[tuple[int, str]]  # (value, CSS class), stacked from the bottom


def nice_ceiling(value: float) -> int:
    """The smallest of 1, 2, 5 x 10^k at or above `value` (at least 1)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return int(next(step * power for step in (1, 2, 5, 10) if step * power >= value))


def bar_chart(bars: Sequence[Bar], title: str, unit: str) -> Markup:
    top = nice_ceiling(max((sum(v for v, _ in bar.segments) for bar in bars), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(1, len(bars))
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>']
    ticks = (0, top // 2, top) if top % 2 == 0 else (0, top)
    for tick in ticks:
        y = TOP + plot_h * (1 - tick / top)
        parts.append(f'<line class="gridline" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" '
                     f'y2="{y:.1f}"/><text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" '
                     f'text-anchor="end">{tick:,}</text>')
    for index, bar in enumerate(bars):
        x = LEFT + index * slot + slot * GAP / 2
        width = slot * (1 - GAP)
        parts.append(f"<g><title>{escape(bar.tooltip)}</title>")
        base = TOP + plot_h
        for value, css in bar.segments:
            if value <= 0:
                continue
            height = plot_h * value / top
            base -= height
            parts.append(f'<rect class="{css}" x="{x:.1f}" y="{base:.1f}" width="{width:.1f}" '
                         f'height="{height:.1f}" rx="1.5"/>')
        # An invisible full-height target, so the tooltip shows over empty bars too.
        parts.append(f'<rect class="hit" x="{x:.1f}" y="{TOP}" width="{width:.1f}" '
                     f'height="{plot_h}"/></g>')
        if bar.label:
            parts.append(f'<text class="axis" x="{x + width / 2:.1f}" y="{HEIGHT - 6}" '
                         f'text-anchor="middle">{escape(bar.label)}</text>')
    parts.append(f'<text class="unit" x="{LEFT}" y="{TOP - 6}">{escape(unit)}</text></svg>')
    return Markup("".join(parts))


def _at(ms: int, pattern: str) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime(pattern)


def activity_charts(buckets: Sequence[Bucket], period: str, label_every: int,
                    axis_format: str) -> tuple[Markup, Markup]:
    """Tasks (succeeded, failed, other) and net credits per bucket."""
    def tooltip(bucket: Bucket) -> str:
        m = bucket.measures
        return (f"{_at(bucket.start, '%a %d %b %H:%M')} UTC: {m.tasks:,} tasks "
                f"({m.succeeded:,} succeeded, {m.failed:,} failed), {m.net:,} credits net")

    def axis(index: int, bucket: Bucket) -> str:
        return _at(bucket.start, axis_format) if index % label_every == 0 else ""

    tasks = [Bar(axis(i, b), tooltip(b), (
        (b.measures.succeeded, "ok"), (b.measures.failed, "fail"),
        (b.measures.tasks - b.measures.succeeded - b.measures.failed, "other")))
        for i, b in enumerate(buckets)]
    credits = [Bar(axis(i, b), tooltip(b), ((b.measures.net, "credits"),))
               for i, b in enumerate(buckets)]
    return (bar_chart(tasks, f"Tasks created, {period}", "tasks"),
            bar_chart(credits, f"Credits spent (net), {period}", "credits"))


def day_charts(buckets: Sequence[Bucket]) -> tuple[Markup, Markup]:
    return activity_charts(buckets, "last 24 hours (UTC, hourly)", 4, "%H:00")


def week_charts(buckets: Sequence[Bucket]) -> tuple[Markup, Markup]:
    return activity_charts(buckets, "last 7 days (UTC, every 6 hours)", 4, "%a")
