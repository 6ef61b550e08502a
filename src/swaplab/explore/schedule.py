"""Schedules: the choices that make a run, as a short text that replays exactly.

A run is determined by its setup and its :class:`Schedule`: one :data:`Decision` per step,
``(tid, value)``: the thread picked and, when that thread's pending operation is a CHOICE,
the alternative sent to it (``-1`` otherwise). The text form lists the thread ids separated
by dots; a CHOICE answer follows its pick as ``cN``; a run of three or more identical
decisions is written ``tid*count``::

    1.0.0.2.c1.0      threads 1, 0, 0, then 2 answering 1 to its CHOICE, then 0
    0*12.1*12         twelve steps of thread 0, then twelve of thread 1

The empty schedule is written ``-``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TypeAlias

#: One step of a run: the thread id picked and the CHOICE answer (``-1``: not a choice).
Decision: TypeAlias = tuple[int, int]

NO_CHOICE = -1


class ScheduleError(ValueError):
    """A schedule text that does not parse."""


class Schedule(Sequence[Decision]):
    """An immutable list of decisions with a short text form."""

    __slots__ = ("decisions",)

    def __init__(self, decisions: Iterable[Decision] = ()) -> None:
        self.decisions: tuple[Decision, ...] = tuple(decisions)

    def __len__(self) -> int:
        return len(self.decisions)

    def __getitem__(self, index: int) -> Decision:  # type: ignore[override]
        return self.decisions[index]

    def __iter__(self) -> Iterator[Decision]:
        return iter(self.decisions)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Schedule) and self.decisions == other.decisions

    def __hash__(self) -> int:
        return hash(self.decisions)

    def __repr__(self) -> str:
        return f"Schedule({self.text()!r})"

    def __str__(self) -> str:
        return self.text()

    def text(self) -> str:
        return format_decisions(self.decisions)

    @classmethod
    def parse(cls, text: str) -> Schedule:
        return cls(parse_decisions(text))


def _token(decision: Decision) -> str:
    tid, value = decision
    return f"{tid}.c{value}" if value != NO_CHOICE else str(tid)


def format_decisions(decisions: Sequence[Decision]) -> str:
    """The text form of ``decisions`` (see the module docstring)."""
    parts: list[str] = []
    i, count = 0, len(decisions)
    while i < count:
        j = i
        while j < count and decisions[j] == decisions[i]:
            j += 1
        if j - i >= 3:
            parts.append(f"{_token(decisions[i])}*{j - i}")
        else:
            parts.extend(_token(decisions[i]) for _ in range(j - i))
        i = j
    return ".".join(parts) if parts else "-"


def parse_decisions(text: str) -> list[Decision]:
    """Parse the text form; raises :class:`ScheduleError` on anything else."""
    text = text.strip()
    if text in ("", "-"):
        return []
    out: list[Decision] = []
    tokens = text.split(".")
    i = 0
    while i < len(tokens):
        token = tokens[i]
        tid_text, star, repeat_text = token.partition("*")
        value = NO_CHOICE
        if not star and i + 1 < len(tokens) and tokens[i + 1].startswith("c"):
            value_text, star, repeat_text = tokens[i + 1][1:].partition("*")
            value = _number(value_text, text)
            i += 1
        repeat = _number(repeat_text, text) if star else 1
        if repeat < 1:
            raise ScheduleError(f"bad repeat count in schedule {text!r}")
        out.extend([(_number(tid_text, text), value)] * repeat)
        i += 1
    return out


def _number(token: str, text: str) -> int:
    if not token.isdigit():
        raise ScheduleError(f"bad token {token!r} in schedule {text!r}")
    return int(token)
