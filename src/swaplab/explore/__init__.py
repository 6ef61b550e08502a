"""The engine: threads, operations, schedules and strategies. It knows nothing of Linux."""

from swaplab.explore.execution import (
    Deadlock,
    Event,
    Execution,
    StepLimit,
    Thread,
    run_to_completion,
)
from swaplab.explore.ops import Lock, Op, OpKind, ThreadBody, trap

__all__ = [
    "Deadlock",
    "Event",
    "Execution",
    "Lock",
    "Op",
    "OpKind",
    "StepLimit",
    "Thread",
    "ThreadBody",
    "run_to_completion",
    "trap",
]
