"""The dashboard chart's geometry (pure; no database)."""

from __future__ import annotations

import pytest

from console import charts


@pytest.mark.parametrize(
    ("value", "ceiling"), [(0, 1), (1, 1), (2, 2), (3, 5), (7, 10), (11, 20), (480, 500)]
)
def test_the_axis_top_is_a_round_number_at_or_above_the_largest_value(value, ceiling):
    assert charts.nice_ceiling(value) == ceiling


def test_bars_are_proportional_and_grouped_per_label():
    chart = charts.bar_chart(["00:00", "01:00"], [[10, 5], [0, 2]], ["issued", "failed"])
    issued0, failed0, issued1, failed1 = chart.bars
    assert issued0.height == 2 * issued1.height
    assert failed0.height == 0 and failed0.y == chart.baseline
    assert issued0.x < failed0.x < issued1.x < failed1.x
    assert issued0.title == "00:00: 10 issued"
    assert [t.label for t in chart.ticks] == ["0", "5", "10"]


def test_an_empty_chart_still_has_an_axis_and_every_third_label():
    labels = [f"{h:02}:00" for h in range(24)]
    chart = charts.bar_chart(labels, [[0] * 24], ["issued"])
    assert all(bar.height == 0 for bar in chart.bars)
    assert [t.label for t in chart.ticks] == ["0", "1"]
    assert [x.label for x in chart.labels] == labels[::3]


def test_a_ranking_scales_bars_to_the_largest_one_row_each():
    ranking = charts.ranking(["203.0.113.7", "192.0.2.9"], [8, 2])
    first, second = ranking.bars
    assert first.width == 4 * second.width and first.width > 0
    assert second.y - first.y == charts.RANK_ROW
    assert (first.label, first.value) == ("203.0.113.7", 8)
    assert charts.ranking([], []).bars == []
