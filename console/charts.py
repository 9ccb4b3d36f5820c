"""Server-side bar charts: pure geometry for an inline SVG (no JavaScript, no inline style).

``bar_chart`` turns labelled series into rectangles, axis ticks and labels in SVG user units;
the template draws them and the stylesheet colours them by class (CSP allows no inline style).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 720
HEIGHT = 240
LEFT = 44
RIGHT = 12
TOP = 12
BOTTOM = 28


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: int
    title: str


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class XLabel:
    x: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    ticks: list[Tick]
    labels: list[XLabel]
    plot_left: int
    plot_right: int
    baseline: float


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5 x 10^n that is >= ``value`` (at least 1)."""
    if value <= 1:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def bar_chart(
    labels: Sequence[str],
    series: Sequence[Sequence[int]],
    names: Sequence[str],
    *,
    label_every: int = 3,
) -> Chart:
    """Grouped bars: one group per label, one bar per series inside each group."""
    top = nice_ceiling(max((v for values in series for v in values), default=0))
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    baseline = TOP + plot_height
    group = plot_width / max(len(labels), 1)
    bar_width = group * 0.8 / max(len(series), 1)
    bars = []
    for index, label in enumerate(labels):
        for number, values in enumerate(series):
            height = plot_height * values[index] / top
            bars.append(
                Bar(
                    x=round(LEFT + index * group + group * 0.1 + number * bar_width, 2),
                    y=round(baseline - height, 2),
                    width=round(bar_width, 2),
                    height=round(height, 2),
                    series=number,
                    title=f"{label}: {values[index]} {names[number]}",
                )
            )
    ticks = [Tick(round(baseline - plot_height * f, 2), str(round(top * f))) for f in (0, 0.5, 1)]
    if top == 1:
        ticks = [ticks[0], ticks[2]]
    x_labels = [
        XLabel(round(LEFT + i * group + group / 2, 2), label)
        for i, label in enumerate(labels)
        if i % label_every == 0
    ]
    return Chart(WIDTH, HEIGHT, bars, ticks, x_labels, LEFT, WIDTH - RIGHT, baseline)


@dataclass(frozen=True)
class RankBar:
    y: float
    width: float
    label: str
    value: int


@dataclass(frozen=True)
class Ranking:
    width: int
    height: int
    bars: list[RankBar]
    plot_left: int
    bar_height: int


RANK_LEFT = 180  # room for the label (an address, a client's name)
RANK_ROW = 28
RANK_BAR = 18


def ranking(labels: Sequence[str], values: Sequence[int]) -> Ranking:
    """Horizontal bars, longest first as given: one row per label, scaled to the largest."""
    top = max(values, default=0) or 1
    plot_width = WIDTH - RANK_LEFT - RIGHT - 40  # room for the value after the bar
    bars = [
        RankBar(
            y=TOP + index * RANK_ROW,
            width=round(plot_width * value / top, 2),
            label=label,
            value=value,
        )
        for index, (label, value) in enumerate(zip(labels, values, strict=True))
    ]
    height = TOP * 2 + RANK_ROW * max(len(bars), 1)
    return Ranking(WIDTH, height, bars, RANK_LEFT, RANK_BAR)
