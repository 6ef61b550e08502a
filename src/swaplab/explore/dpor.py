"""Source-DPOR with sleep sets (Abdulla, Aronis, Jonsson, Sagonas, POPL 2014), replay-based.

Every executed step is an *event*: its thread, its operation, the locks it took or released
(``run.changed``) and a vector clock. Two events conflict when their operations conflict
(:meth:`Op.conflicts`: same object, not both reads; an ACQUIRE/TRYLOCK/WAIT conflicts with
the others of the same lock) or when one took or released a lock the other uses. The clock of
an event joins its thread's clock with the clocks of the earlier events it conflicts with (a
spawned thread starts from its parent's event), so ``e -> f`` (happens-before) is a clock
comparison.

When a new event ``n`` of thread ``p`` is in a race with an earlier event ``e`` (they
conflict, different threads, no other event between them in happens-before), the run that
reverses them starts at ``e``'s node with ``v = notdep(e) . n``: unless a thread that can
start ``v`` (an *initial*) is already in the node's backtrack or sleep set, one is added.
Sleep sets: after a node explored decision ``d``, its later children carry ``d`` asleep until
a step conflicts with it. For that test a sleeping step touches its pending object and the
locks it took or released when it ran at its node (remembered as positions in the run's list
of known locks, which is the same in every run up to that node).

Environment choices (CHOICE) are independent of everything; all their alternatives are added
to the backtrack set of the node where they are chosen. With a preemption bound, backtrack
decisions beyond the bound are pruned (the search is then not complete).
"""

from __future__ import annotations

from collections.abc import Sequence

from swaplab.explore.dfs import decisions_of, ordered
from swaplab.explore.execution import Thread
from swaplab.explore.ops import Lock, Op, OpKind
from swaplab.explore.runner import Run
from swaplab.explore.schedule import Decision
from swaplab.explore.search import Search


class _Event:
    __slots__ = ("changed", "clock", "op", "released", "tid")

    def __init__(self, tid: int, op: Op, changed: list[Lock], clock: list[int]) -> None:
        self.tid = tid
        self.op = op
        self.changed = changed
        self.released = [lock for lock in changed if lock.holder is None]
        self.clock = clock

    def writes(self, obj: object) -> bool:
        """Whether this event accesses ``obj`` other than by a plain READ."""
        if any(obj is lock for lock in self.changed):
            return True
        return obj is self.op.obj and self.op.kind is not OpKind.READ

    def took(self, lock: Lock) -> bool:
        return any(lock is other for other in self.changed) and \
            not any(lock is other for other in self.released)

    def only_released_for(self, other: _Event) -> bool:
        """Whether this event conflicts with ``other`` (an ACQUIRE or WAIT) only by releasing
        its lock: a race that cannot be reversed, since ``other`` was disabled before."""
        op, oop = self.op, other.op
        if oop.kind is not OpKind.ACQUIRE and oop.kind is not OpKind.WAIT:
            return False
        if op.obj is not None and op.obj is oop.obj and op.conflicts(oop):
            return False
        return any(lock is oop.obj for lock in self.released)

    def objects(self) -> list[object]:
        obj = self.op.obj
        return [obj, *self.changed] if obj is not None else list(self.changed)

    def conflicts(self, other: _Event) -> bool:
        op, oop = self.op, other.op
        if op.obj is not None and op.obj is oop.obj and op.conflicts(oop):
            return True
        return any(lock is oop.obj or lock in other.changed for lock in self.changed) or \
            any(lock is op.obj for lock in other.changed)


def _before(a: _Event, b_clock: list[int]) -> bool:
    """Whether event ``a`` happens before an event with clock ``b_clock``."""
    return len(b_clock) > a.tid and b_clock[a.tid] >= a.clock[a.tid]


def _join(a: list[int], b: list[int]) -> list[int]:
    if len(a) < len(b):
        a = a + [0] * (len(b) - len(a))
    for i, value in enumerate(b):
        if value > a[i]:
            a[i] = value
    return a


#: A sleeping decision and the positions of the locks its step took or released.
Asleep = tuple[Decision, tuple[int, ...]]


class _Node:
    __slots__ = ("backtrack", "done", "effects", "enabled", "last", "nlocks", "preemptions",
                 "skipped", "sleep", "taken")

    def __init__(self, enabled: list[Decision], sleep: list[Asleep], last: int,
                 preemptions: int, nlocks: int) -> None:
        self.enabled = enabled  # decisions possible here
        self.sleep = [d for d, _ in sleep]
        self.effects: dict[Decision, tuple[int, ...]] = dict(sleep)
        self.backtrack: list[Decision] = []
        self.done: list[Decision] = []
        self.skipped: list[Decision] = []
        self.taken: Decision = (-1, -1)
        self.last = last  # the thread a switch away from is a preemption (-1: none)
        self.preemptions = preemptions
        self.nlocks = nlocks  # locks known when the node was reached

    def wants(self, tid: int) -> bool:
        return any(d[0] == tid for d in self.backtrack) or any(d[0] == tid for d in self.sleep)

    def add(self, tid: int) -> None:
        for decision in self.enabled:
            if decision[0] == tid and decision not in self.backtrack:
                self.backtrack.append(decision)


class DporDriver:
    """Keeps the node stack and the events of the current run."""

    track_locks = True

    def __init__(self, search: Search, bound: int | None, base: Sequence[Decision],
                 root_sleep: Sequence[Asleep] = (), split: int | None = None) -> None:
        self.search = search
        self.bound = bound
        self.base = len(base)
        self.root_sleep = list(root_sleep)
        self.split = split  # explore every decision this deep, then stop and record a leaf
        self.leaves: list[tuple[list[Decision], list[Asleep]]] = []
        self.stack: list[_Node] = []
        self.branch = 0  # events from this index on are new in the current run
        self.events: list[_Event] = []
        self.clocks: list[list[int]] = []
        self.by_obj: dict[int, list[int]] = {}
        self.last_write: dict[int, int] = {}  # per object: position in by_obj of its last write
        self.child_sleep: list[Asleep] = []
        self.bounded = False

    def reset(self) -> None:
        self.events, self.clocks, self.by_obj, self.last_write = [], [], {}, {}

    # -- choosing -------------------------------------------------------------------------
    def choose(self, run: Run, enabled: list[Thread]) -> Decision | None:
        index = len(self.events)
        sleep = self.child_sleep if index > self.base else self.root_sleep
        if self.split is not None and index - self.base >= self.split:
            self.leaves.append((list(run.decisions), list(sleep)))
            return None
        last = run.last
        from_tid = last.tid if last is not None and run.is_preemption_source() else -1
        options = [d for t in ordered(run, enabled) for d in decisions_of(t)]
        node = _Node(options, sleep, from_tid, run.preemptions, len(run.locks))
        self.stack.append(node)
        for decision in options:
            if decision not in node.sleep and self._allowed(node, decision):
                node.taken = decision
                node.backtrack.append(decision)
                if self.split is not None:  # the top of a split search is exhaustive
                    for other in options:
                        if other not in node.backtrack:
                            node.backtrack.append(other)
                if run.threads[decision[0]].pending.kind is OpKind.CHOICE:  # type: ignore[union-attr]
                    node.add(decision[0])
                return decision
        return None  # sleep-set blocked: the run is abandoned (counted as pruned)

    def _allowed(self, node: _Node, decision: Decision) -> bool:
        if self.bound is None or node.last < 0 or decision[0] == node.last:
            return True
        if node.preemptions < self.bound:
            return True
        self.bounded = True
        return False

    # -- observing --------------------------------------------------------------------------
    def stepped(self, run: Run, index: int, thread: Thread, op: Op, spawned: int) -> None:
        clocks = self.clocks
        while len(clocks) < len(run.threads):
            clocks.append([])
        tid = thread.tid
        event = _Event(tid, op, run.changed, [])
        racing = self._link(event)
        clocks[tid] = event.clock
        for child in range(spawned, len(run.threads)):
            clocks[child] = list(event.clock)
        events, by_obj = self.events, self.by_obj
        n = len(events)
        events.append(event)
        for obj in event.objects():
            accesses = by_obj.setdefault(id(obj), [])
            if event.writes(obj):
                self.last_write[id(obj)] = len(accesses)
            accesses.append(n)
        if n >= self.branch and n >= self.base:
            if racing:
                self._races(racing, n)
            if n < self.base + len(self.stack):
                node = self.stack[n - self.base]
                node.effects[node.taken] = tuple(
                    i for i, lock in enumerate(run.locks[:node.nlocks])
                    if any(lock is changed for changed in event.changed))
                self.child_sleep = self._sleep_after(run, node, event)

    def _link(self, event: _Event) -> list[int]:
        """Set ``event.clock``; return the earlier events racing with it, in order."""
        tid, events = event.tid, self.events
        pre = self.clocks[tid]
        clock = _join(list(pre), [0] * (tid + 1))
        clock[tid] += 1
        racing: list[int] = []
        seen: list[int] = []
        for obj in event.objects():
            # Events before an object's last write are ordered before that write: neither
            # their clocks nor their races add anything to those of the write.
            accesses = self.by_obj.get(id(obj), [])
            for j in accesses[self.last_write.get(id(obj), 0):]:
                if j in seen:
                    continue
                seen.append(j)
                other = events[j]
                if other.tid == tid or not other.conflicts(event):
                    continue
                clock = _join(clock, other.clock)
                if other.only_released_for(event):
                    j = self._acquirer(j, event.op.obj)
                    if j < 0 or events[j].tid == tid:
                        continue
                    other = events[j]
                if not _before(other, pre) and j not in racing:
                    racing.append(j)
        event.clock = clock
        return sorted(racing)

    def ended(self, run: Run) -> None:
        """A run ended with threads blocked (a deadlock, a failure): each blocked operation
        races like a step that would run now, so the orders that avoid the block are tried."""
        if len(self.events) < self.branch:
            return
        while len(self.clocks) < len(run.threads):
            self.clocks.append([])
        for thread in run.threads:
            pending = thread.pending
            if thread.done or pending is None or pending.enabled() or pending.obj is None:
                continue
            event = _Event(thread.tid, pending, [], [])
            racing = self._link(event)
            if racing:
                self.events.append(event)
                self._races(racing, len(self.events) - 1)
                self.events.pop()

    def _acquirer(self, j: int, lock: object) -> int:
        """The event before ``j`` that took ``lock`` (-1: none seen)."""
        for i in reversed(self.by_obj.get(id(lock), ())):
            if i < j and self.events[i].took(lock):  # type: ignore[arg-type]
                return i
        return -1

    def _sleep_after(self, run: Run, node: _Node, event: _Event) -> list[Asleep]:
        """The sleep set of the node after ``node`` ran ``event``."""
        out = []
        for decision in node.sleep + node.done:
            if decision[0] == event.tid:
                continue
            effects = node.effects[decision]
            pending = run.threads[decision[0]].pending
            locks = [run.locks[i] for i in effects]
            if pending is not None and not self._dependent(pending, locks, event):
                out.append((decision, effects))
        return out

    @staticmethod
    def _dependent(pending: Op, locks: list[Lock], event: _Event) -> bool:
        """Whether a sleeping step (``pending``, changing ``locks``) conflicts with ``event``."""
        op = event.op
        if pending.obj is not None and ((pending.obj is op.obj and pending.conflicts(op))
                                        or any(lock is pending.obj for lock in event.changed)):
            return True
        return any(lock is op.obj or any(lock is c for c in event.changed) for lock in locks)

    def _races(self, racing: list[int], n: int) -> None:
        events = self.events
        new = events[n]
        # Keep the races no other racing event separates from the new one.
        immediate = [i for i in racing
                     if not any(_before(events[i], events[j].clock) for j in racing if j > i)]
        for i in immediate:
            if i < self.base:
                continue
            node = self.stack[i - self.base]
            initials = self._initials(i, n)
            if any(node.wants(q) for q in initials):
                continue
            order = ([new.tid] if new.tid in initials else []) + initials
            for q in order:
                if any(d[0] == q for d in node.enabled):
                    self._push(node, q)
                    break
            else:
                for decision in node.enabled:
                    self._push(node, decision[0])

    def _push(self, node: _Node, tid: int) -> None:
        node.add(tid)

    def _initials(self, i: int, n: int) -> list[int]:
        """The threads that can start ``notdep(e_i) . e_n`` from the node of ``e_i``."""
        events = self.events
        e = events[i]
        v = [events[j] for j in range(i + 1, n) if not _before(e, events[j].clock)]
        v.append(events[n])
        initials: list[int] = []
        firsts: list[int] = []
        for k, event in enumerate(v):
            if event.tid in firsts:
                continue
            firsts.append(event.tid)
            if not any(_before(v[m], event.clock) for m in range(k) if v[m].tid != event.tid):
                initials.append(event.tid)
        return initials

    # -- backtracking -----------------------------------------------------------------------
    def backtrack(self) -> bool:
        stack = self.stack
        while stack:
            node = stack[-1]
            node.done.append(node.taken)
            for decision in node.backtrack:
                if decision in node.done or decision in node.sleep or decision in node.skipped:
                    continue
                if not self._allowed(node, decision):
                    self.search.stats.pruned += 1
                    node.skipped.append(decision)
                    continue
                node.taken = decision
                self.branch = self.base + len(stack) - 1
                return True
            stack.pop()
        return False

    def prefix(self, base: Sequence[Decision]) -> list[Decision]:
        return [*base, *(node.taken for node in self.stack)]


def dpor(search: Search, bound: int | None = None, base: Sequence[Decision] = (),
         root_sleep: Sequence[Asleep] = (), split: int | None = None
         ) -> list[tuple[list[Decision], list[Asleep]]]:
    """Explore one run per Mazurkiewicz trace extending ``base`` (fewer with the bound).

    ``root_sleep`` is the sleep set at ``base`` (from a split). With ``split``, the first
    ``split`` levels are explored exhaustively (with sleep sets only) and the runs stop
    there: the function returns the prefixes reached with their sleep sets, each a subtree
    for :func:`dpor` with ``base`` and ``root_sleep`` (the parallel split). Races that would
    reverse a step above ``base`` are dropped: above it the search is exhaustive.
    """
    driver = DporDriver(search, bound, base, root_sleep, split)
    prefix = list(base)
    while search.budget_left():
        driver.reset()
        count = len(driver.leaves)
        search.run(prefix, driver)
        if len(driver.leaves) > count:  # not a run of its own: a subtree for later
            search.stats.executions -= 1
            search.stats.pruned -= 1
        if not driver.backtrack():
            break
        prefix = driver.prefix(base)
    if driver.bounded:
        search.stats.complete = False
    return driver.leaves
