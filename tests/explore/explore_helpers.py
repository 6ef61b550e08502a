"""Shared helpers of the explorer tests: the Mazurkiewicz trace of a run."""

from __future__ import annotations

from swaplab.explore.execution import Thread
from swaplab.explore.model import Model
from swaplab.explore.ops import Lock, Op, OpKind
from swaplab.explore.runner import Driver, Run, execute
from swaplab.explore.schedule import Decision

ThreadName = tuple[int, ...]


class Recorder(Driver):
    """Observes a replay: per step, the thread, its per-thread index and what it touched.

    Threads are named by where they come from, not by their id: a thread of the model is
    ``(tid,)``, the n-th thread it spawns is its name plus ``(n,)``. Ids follow the order
    of the spawns, which two runs of one trace may differ in (two independent steps that
    each spawn a thread)."""

    track_locks = True

    def __init__(self) -> None:
        self.events: list[tuple[ThreadName, int, list[tuple[object, bool]]]] = []
        self.spins: list[int] = []  # indices of SPIN steps (they conflict with every step)
        self.counts: dict[ThreadName, int] = {}
        self.names: dict[int, ThreadName] = {}
        self.children: dict[ThreadName, int] = {}
        self.choices: list[tuple[tuple[ThreadName, int], int]] = []

    def choose(self, run: Run, enabled: list[Thread]) -> Decision | None:
        return None

    def name(self, tid: int) -> ThreadName:
        return self.names.setdefault(tid, (tid,))

    def stepped(self, run: Run, index: int, thread: Thread, op: Op, spawned: int) -> None:
        name = self.name(thread.tid)
        for child in run.threads[spawned:]:
            n = self.children.get(name, 0)
            self.children[name] = n + 1
            self.names[child.tid] = (*name, n)
        k = self.counts.get(name, 0)
        self.counts[name] = k + 1
        touched: list[tuple[object, bool]] = []
        if op.obj is not None:
            touched.append((op.obj, op.kind is OpKind.READ))
        touched.extend((lock, False) for lock in run.changed if isinstance(lock, Lock))
        touched.extend((obj, False) for obj in run.written)
        touched.extend((obj, True) for obj in run.read)
        if op.kind is OpKind.SPIN:
            self.spins.append(len(self.events))
        self.events.append((name, k, touched))
        if op.kind is OpKind.CHOICE:
            self.choices.append(((name, k), run.decisions[-1][1]))


def trace_class(model: Model, decisions: list[Decision]) -> frozenset[tuple[object, ...]]:
    """The Mazurkiewicz trace of a run: the order of every pair of conflicting steps."""
    recorder = Recorder()
    execute(model, decisions, recorder)
    pairs = []
    events = recorder.events
    spins = recorder.spins
    for i, (ti, ki, ai) in enumerate(events):
        for j, (tj, kj, aj) in enumerate(events[i + 1:], i + 1):
            if ti == tj:
                continue
            if i in spins or j in spins or any(a is b and not (ra and rb)
                                               for a, ra in ai for b, rb in aj):
                pairs.append(((ti, ki), (tj, kj)))
    return frozenset([*pairs, *(("choice", *c) for c in recorder.choices)])
