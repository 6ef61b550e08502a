"""The engine: threads, operations, schedules and strategies. It knows nothing of Linux.

See ``README.md`` beside this file for the design; the front door is :func:`explore`.
"""

from swaplab.explore.execution import (
    Deadlock,
    Event,
    Execution,
    StepLimit,
    Thread,
    run_to_completion,
)
from swaplab.explore.explorer import Finding, Result, explore
from swaplab.explore.model import Instance, Model, Property, When, always, at_end, sometimes
from swaplab.explore.ops import Lock, Op, OpKind, ThreadBody, trap
from swaplab.explore.replay import replay
from swaplab.explore.schedule import Decision, Schedule, ScheduleError
from swaplab.explore.search import Options, Statistics

__all__ = [
    "Deadlock",
    "Decision",
    "Event",
    "Execution",
    "Finding",
    "Instance",
    "Lock",
    "Model",
    "Op",
    "OpKind",
    "Options",
    "Property",
    "Result",
    "Schedule",
    "ScheduleError",
    "Statistics",
    "StepLimit",
    "Thread",
    "ThreadBody",
    "When",
    "always",
    "at_end",
    "explore",
    "replay",
    "run_to_completion",
    "sometimes",
    "trap",
]
