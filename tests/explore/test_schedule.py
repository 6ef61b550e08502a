"""Schedules print short and parse back exactly."""

from __future__ import annotations

import pytest

from swaplab.explore.schedule import NO_CHOICE, Schedule, ScheduleError, parse_decisions

N = NO_CHOICE


def test_text_of_picks_and_choices() -> None:
    schedule = Schedule([(1, N), (0, N), (0, N), (2, 1), (0, N)])
    assert schedule.text() == "1.0.0.2.c1.0"
    assert Schedule.parse("1.0.0.2.c1.0") == schedule


def test_runs_are_compressed_and_expanded() -> None:
    schedule = Schedule([(0, N)] * 12 + [(1, N)] * 2 + [(2, 0)] * 3)
    assert schedule.text() == "0*12.1.1.2.c0*3"
    assert Schedule.parse(schedule.text()) == schedule


def test_empty_schedule() -> None:
    assert Schedule().text() == "-"
    assert parse_decisions("-") == []


@pytest.mark.parametrize("text", ["a", "1..2", "1.cx", "0*0", "1.2*"])
def test_bad_text_is_rejected(text: str) -> None:
    with pytest.raises(ScheduleError):
        parse_decisions(text)
