"""The model interface: what the explorer runs, and the properties it checks.

A *model* is a zero-argument callable returning a fresh :class:`Instance`: the state (any
Python object: a swaplab ``Kernel``, a list, ...), the :class:`Execution` whose threads were
spawned into it (``Execution.spawn(name, coroutine, ctx)``), and the properties to check.
Generators cannot be cloned, so the explorer calls the model again for every run and replays
the schedule's prefix: setups must be deterministic. A model may keep the state its
sequential setup prepares and hand every run a copy of it, spawning only the threads anew;
the copy's locks must then be numbered alike in every run (``ops.stable_name``: a lock
without an owner is named by its serial relative to the count when the model was
called). For the parallel backends the model must pickle (a module-level function or a
``functools.partial`` of one).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, TypeAlias

from swaplab.explore.canonical import NO_RULES, Rules
from swaplab.explore.execution import Execution

Predicate: TypeAlias = Callable[[Any], bool]

#: A property's kind. A ``bug`` violation is a defect of the system under test (it leaks,
#: crashes, deadlocks, corrupts): it makes a check "found". A ``note`` violation is worth
#: seeing but no defect (a state the system repairs later): reported apart, never a finding
#: unless asked (``strict``). ``sometimes`` properties have no kind: one never reached is a
#: vacuity warning (the runs never entered that window).
BUG = "bug"
NOTE = "note"
Explain: TypeAlias = Callable[[Any], str]


class When(Enum):
    """When a property is checked."""

    ALWAYS = "always"  # after every step (and on the initial state)
    QUIESCENT = "always-quiescent"  # after every step that leaves no lock held
    AT_END = "at_end"  # after all threads finished and ``Instance.finish`` ran
    SOMETIMES = "sometimes"  # must hold at some point of some run (reachability)


@dataclass(frozen=True, slots=True)
class Property:
    """A named predicate over the state; ``explain`` words a violation; ``kind`` is
    :data:`BUG` or :data:`NOTE`."""

    name: str
    when: When
    check: Predicate
    explain: Explain | None = None
    kind: str = BUG

    def message(self, state: Any) -> str:
        if self.explain is not None:
            return self.explain(state)
        if self.when is When.SOMETIMES:
            return "never reached"
        return "violated"


def always(name: str, check: Predicate, explain: Explain | None = None,
           quiescent: bool = False, kind: str = BUG) -> Property:
    """An invariant: after every step, or (``quiescent``) only when no lock is held."""
    return Property(name, When.QUIESCENT if quiescent else When.ALWAYS, check, explain, kind)


def at_end(name: str, check: Predicate, explain: Explain | None = None,
           kind: str = BUG) -> Property:
    """A postcondition: checked once all threads have finished."""
    return Property(name, When.AT_END, check, explain, kind)


def sometimes(name: str, check: Predicate, explain: Explain | None = None) -> Property:
    """Reachability: some step of some run must satisfy ``check``."""
    return Property(name, When.SOMETIMES, check, explain)


@dataclass(slots=True)
class Instance:
    """One fresh run of a model, ready to be driven.

    ``fingerprint(state)`` returns a canonical byte encoding of the state, including every
    thread-local value that decides a thread's control flow (the explorer adds each
    thread's pending site); it feeds the distinct-states statistic and the livelock test (a
    busy-wait that comes back to the same fingerprint has a cycle). ``finish(state)`` drains
    the system after all threads are done, before the at_end checks. "Quiescent" means no
    lock a step has taken is held, unless ``quiescent(state)`` is given: then that decides
    when the quiescent ``always`` properties are checked. The explorer learns the locks
    from the steps' lock records (:class:`~swaplab.explore.ops.Lock`). ``rules`` adapt the
    complete state encoding that state caching compares (:mod:`swaplab.explore.canonical`)
    to the model's classes.
    """

    execution: Execution
    state: Any = None
    properties: Sequence[Property] = ()
    fingerprint: Callable[[Any], bytes] | None = None
    finish: Callable[[Any], None] | None = None
    max_steps: int = 10_000
    quiescent: Predicate | None = None
    name: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    rules: Rules = NO_RULES


#: A model: builds a fresh instance for every run.
Model: TypeAlias = Callable[[], Instance]
