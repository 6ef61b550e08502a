"""Source-DPOR with sleep sets (Abdulla, Aronis, Jonsson, Sagonas, POPL 2014), replay-based.

Every executed step is an *event*: its thread, its operation, what its step record says it
did besides (the locks it took or released, ``run.changed``; the objects it wrote in plain
code, ``run.written``) and a vector clock. Two events conflict when their operations
conflict (:meth:`Op.conflicts`: same object, not both reads; an ACQUIRE/TRYLOCK/WAIT
conflicts with the others of the same lock), when one's record touches the other's object
or record, or when either is a SPIN (a busy-wait's round: whether it may run depends on
every other thread). The clock of an event joins its thread's clock with the clocks of the
earlier events it conflicts with (a spawned thread starts from its parent's event), so
``e -> f`` (happens-before) is a clock comparison.

When a new event ``n`` of thread ``p`` is in a race with an earlier event ``e`` (they
conflict, different threads, no other event between them in happens-before), the run that
reverses them starts at ``e``'s node with ``v = notdep(e) . n``: unless a thread that can
start ``v`` (an *initial*) is already in the node's backtrack or sleep set, one is added.
Sleep sets: after a node explored decision ``d``, its later children carry ``d`` asleep until
a step conflicts with it. For that test a sleeping step touches its pending object and what
its record had when it ran at its node, remembered by stable names (``ops.stable_name``:
objects are new in every run); an object without a stable name wakes the sleeper. A run
cut by the step limit adds the fair alternatives it starved (:meth:`DporDriver.ended`).

Environment choices (CHOICE) are independent of everything; all their alternatives are added
to the backtrack set of the node where they are chosen. With a preemption bound, backtrack
decisions beyond the bound are pruned (the search is then not complete).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from swaplab.explore.checkpoint import attach_frontier, jsonable, tupled
from swaplab.explore.execution import Thread
from swaplab.explore.ops import ACQUIRE, CHOICE, READ, SPIN, WAIT, Lock, Op, among, stable_name
from swaplab.explore.policy import spinning_only
from swaplab.explore.runner import Driver, Run, decisions_of, ordered
from swaplab.explore.schedule import Decision
from swaplab.explore.search import Search
from swaplab.explore.strategy import WHOLE, Share, split_tree


class _Event:
    __slots__ = ("clock", "objects", "op", "read", "released", "spin", "taken", "tid",
                 "touched")

    def __init__(self, tid: int, op: Op, changed: list[Lock], held_before: list[bool],
                 clock: list[int], written: Sequence[object] = (),
                 read: Sequence[object] = ()) -> None:
        self.tid = tid
        self.op = op
        # what the step wrote besides its operation: the locks it changed and the objects
        # it wrote in plain code; and what it only read in plain code (the lists of
        # run.changed and run.read are new at every step: kept, not copied)
        self.touched: list[object] = [*changed, *written]
        self.read = read
        # every object it accessed: its operation's, then touched, then read
        obj = op.obj
        self.objects = [*self.touched, *read] if obj is None else [obj, *self.touched, *read]
        # released: held before the step, free after; taken: free before, held after (a
        # lock taken and released within the step is neither, but still touched)
        self.released: list[Lock] = []
        self.taken: list[Lock] = []
        if changed:
            for lock, held in zip(changed, held_before, strict=True):
                if held and lock.holder is None:
                    self.released.append(lock)
                elif not held and lock.holder is not None:
                    self.taken.append(lock)
        self.spin = op.kind is SPIN
        self.clock = clock

    def writes(self, obj: object) -> bool:
        """Whether this event accesses ``obj`` other than by a plain READ."""
        if among(obj, self.touched):
            return True
        return obj is self.op.obj and self.op.kind is not READ

    def took(self, lock: Lock) -> bool:
        return among(lock, self.taken)

    def only_released_for(self, other: _Event) -> bool:
        """Whether this event conflicts with ``other`` (an ACQUIRE or WAIT) only by releasing
        its lock: a race that cannot be reversed, since ``other`` was disabled before."""
        op, oop = self.op, other.op
        if oop.kind is not ACQUIRE and oop.kind is not WAIT:
            return False
        if self.spin or (op.obj is not None and op.obj is oop.obj and op.conflicts(oop)):
            return False
        # it released the lock (a lock it took, or took and released, is a real conflict)
        return among(oop.obj, self.released)

    def conflicts(self, other: _Event) -> bool:
        if self.spin or other.spin:
            return True
        op, oop = self.op, other.op
        if op.obj is not None and op.obj is oop.obj and op.conflicts(oop):
            return True
        theirs, their_reads = other.touched, other.read
        for x in self.touched:
            if x is oop.obj or among(x, theirs) or among(x, their_reads):
                return True
        for x in theirs:
            if x is op.obj or among(x, self.read):
                return True
        return _reads_written(self.read, oop) or _reads_written(their_reads, op)


def _reads_written(read: Sequence[object], op: Op) -> bool:
    """Whether plain reads of ``read`` conflict with ``op`` (a write of one of them)."""
    return op.obj is not None and op.kind is not READ and among(op.obj, read)


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


#: A sleeping decision and the stable names (ops.stable_name) of what its step's record
#: touched when it ran, a plain read's name wrapped as ``(READ_OF, name)``; UNKNOWN among
#: them: an object without a stable name.
Asleep = tuple[Decision, tuple[object, ...]]
UNKNOWN = ("unknown",)
READ_OF = "read of"


def _names(objs: Sequence[object], base: int) -> tuple[object, ...]:
    """The stable names of ``objs``; UNKNOWN for an object that has none."""
    names: list[object] = []
    for obj in objs:
        name = stable_name(obj, base)
        names.append(UNKNOWN if name is None else name)
    return tuple(names)


class _Node:
    __slots__ = ("backtrack", "done", "effects", "enabled", "last", "preemptions",
                 "skipped", "sleep", "spinning", "taken")

    def __init__(self, enabled: list[Decision], sleep: list[Asleep], last: int,
                 preemptions: int) -> None:
        self.enabled = enabled  # decisions possible here
        self.sleep = [d for d, _ in sleep]
        self.effects: dict[Decision, tuple[object, ...]] = dict(sleep)
        self.backtrack: list[Decision] = []
        self.done: list[Decision] = []
        self.skipped: list[Decision] = []
        self.taken: Decision = (-1, -1)
        self.last = last  # the thread a switch away from is a preemption (-1: none)
        self.preemptions = preemptions
        self.spinning = False  # only busy-waiting threads could run here

    def wants(self, tid: int) -> bool:
        return any(d[0] == tid for d in self.backtrack) or any(d[0] == tid for d in self.sleep)

    def add(self, tid: int) -> None:
        for decision in self.enabled:
            if decision[0] == tid and decision not in self.backtrack:
                self.backtrack.append(decision)


class DporDriver(Driver):
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
        self.last_of: dict[int, int] = {}  # per thread: its last event
        self.spins: list[int] = []  # the SPIN events (they conflict with every event)
        self.child_sleep: list[Asleep] = []
        self.bounded = False

    def reset(self) -> None:
        self.events, self.clocks, self.by_obj, self.last_write = [], [], {}, {}
        self.last_of, self.spins = {}, []

    # -- choosing -------------------------------------------------------------------------
    def choose(self, run: Run, enabled: list[Thread]) -> Decision | None:
        index = len(self.events)
        sleep = self.child_sleep if index > self.base else self.root_sleep
        # Threads sharing a CPU (explore/cpus.py) depend on each other through the CPU's
        # hand-over, which the race analysis does not see: no reduction then, every
        # decision at every node (as dfs).
        exhaustive = self.split is not None or run.cpus is not None
        if run.cpus is not None:
            sleep = []
        if self.split is not None and index - self.base >= self.split:
            self.leaves.append((list(run.decisions), list(sleep)))
            run.split = True
            return None
        last = run.last
        from_tid = last.tid if last is not None and run.is_preemption_source() else -1
        options = [d for t in ordered(run, enabled) for d in decisions_of(t)]
        node = _Node(options, sleep, from_tid, run.preemptions)
        node.spinning = spinning_only(enabled)
        self.stack.append(node)
        for decision in options:
            if decision not in node.sleep and self._allowed(node, decision):
                node.taken = decision
                node.backtrack.append(decision)
                if exhaustive:  # the top of a split search, or a model with shared CPUs
                    for other in options:
                        if other not in node.backtrack:
                            node.backtrack.append(other)
                if run.threads[decision[0]].pending.kind is CHOICE:  # type: ignore[union-attr]
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
        event = _Event(tid, op, run.changed, run.held_before, [], run.written, run.read)
        racing = self._link(event)
        clocks[tid] = event.clock
        for child in range(spawned, len(run.threads)):
            clocks[child] = list(event.clock)
        events = self.events
        n = len(events)
        events.append(event)
        self.last_of[tid] = n
        if event.spin:
            self.spins.append(n)
        self._index(event, n)
        if n >= self.branch and n >= self.base:
            if racing:
                self._races(racing, n)
            if n < self.base + len(self.stack):
                node = self.stack[n - self.base]
                node.effects[node.taken] = (
                    *_names(event.touched, run.base),
                    *((READ_OF, name) for name in _names(event.read, run.base)))
                self.child_sleep = self._sleep_after(run, node, event)

    def _index(self, event: _Event, n: int) -> None:
        """Add event ``n`` to the accesses of each of its objects (and to its last write)."""
        by_obj, last_write = self.by_obj, self.last_write
        for obj in event.objects:
            key = id(obj)
            accesses = by_obj.get(key)
            if accesses is None:
                accesses = by_obj[key] = []
            if event.writes(obj):
                last_write[key] = len(accesses)
            accesses.append(n)

    def _link(self, event: _Event) -> list[int]:
        """Set ``event.clock``; return the earlier events racing with it, in order."""
        tid, events = event.tid, self.events
        pre = self.clocks[tid]
        clock = pre + [0] * (tid + 1 - len(pre))  # a copy, long enough for tid
        clock[tid] += 1
        racing: list[int] = []
        held = self._held_window(event)
        for j in self._candidates(event):
            other = events[j]
            if other.tid == tid or not other.conflicts(event):
                continue
            clock = _join(clock, other.clock)
            if other.only_released_for(event):
                j = self._acquirer(j, event.op.obj)
                if j < 0 or events[j].tid == tid:
                    continue
                other = events[j]
            elif held[0] < j <= held[1]:
                continue  # the lock was held there: the ACQUIRE could not run first
            if not _before(other, pre) and j not in racing:
                racing.append(j)
        event.clock = clock
        racing.sort()
        return racing

    def _candidates(self, event: _Event) -> dict[int, None]:
        """The earlier events that may conflict with ``event`` (the keys, in the order
        first met): the accesses of its objects from each object's last write on (earlier
        ones are ordered before that write: neither their clocks nor their races add
        anything), every SPIN event, and for a SPIN the last event of every thread (a SPIN
        conflicts with everything; a thread's earlier events are ordered before its last
        one)."""
        seen: dict[int, None] = {}
        by_obj, last_write = self.by_obj, self.last_write
        for obj in event.objects:
            accesses = by_obj.get(id(obj))
            if accesses is not None:
                for j in accesses[last_write.get(id(obj), 0):]:
                    seen[j] = None
        for j in self.last_of.values() if event.spin else self.spins:
            seen[j] = None
        return seen

    def ended(self, run: Run) -> None:
        """A run ended with threads blocked (a deadlock, a failure): each blocked operation
        races like a step that would run now, so the orders that avoid the block are tried.
        A run cut by the step limit may have starved a thread that could run (a spinner kept
        going): see :meth:`_starved`."""
        if len(self.events) < self.branch:
            return
        while len(self.clocks) < len(run.threads):
            self.clocks.append([])
        if run.cut:
            self._starved(run)
        for thread in run.threads:
            pending = thread.pending
            if thread.done or pending is None or pending.enabled() or pending.obj is None:
                continue
            event = _Event(thread.tid, pending, [], [], [])
            racing = self._link(event)
            if racing:
                self.events.append(event)
                self._races(racing, len(self.events) - 1)
                self.events.pop()

    def _starved(self, run: Run) -> None:
        """A run cut by the step limit: no later event of a thread it starved races with
        anything, so the fair alternatives are added here: each thread that could still
        run is tried at the first node after its last step where it could have run, and at
        every later node where only busy-waiting threads could run (a fair cycle of
        spinners needs each of them to take its turn after the others' rounds)."""
        for thread in run.threads:
            if thread.done or thread.pending is None:
                continue
            tid = thread.tid
            first = True
            start = max(self.last_of.get(tid, -1) + 1, self.base)
            for n in range(start, min(len(self.events), self.base + len(self.stack))):
                node = self.stack[n - self.base]
                if (first or node.spinning) and any(d[0] == tid for d in node.enabled):
                    first = False
                    if not node.wants(tid):
                        node.add(tid)

    def _held_window(self, event: _Event) -> tuple[int, int]:
        """For an ACQUIRE of a lock another thread took last, the events from that take
        (exclusive) to its release (inclusive): while they ran the ACQUIRE was disabled,
        so its conflicts with them are not races it could win; (-1, -1) otherwise. Its race
        for the lock itself goes to the take (``only_released_for``)."""
        lock = event.op.obj
        if event.op.kind is not ACQUIRE:
            return -1, -1
        take = self._acquirer(len(self.events), lock)
        if take < 0 or self.events[take].tid == event.tid:
            return -1, -1
        for i in self.by_obj.get(id(lock), ()):
            if i > take and among(lock, self.events[i].released):
                return take, i
        return -1, -1

    def _acquirer(self, j: int, lock: object) -> int:
        """The event before ``j`` that took ``lock`` (-1: none seen)."""
        for i in reversed(self.by_obj.get(id(lock), ())):
            if i < j and self.events[i].took(lock):  # type: ignore[arg-type]
                return i
        return -1

    def _sleep_after(self, run: Run, node: _Node, event: _Event) -> list[Asleep]:
        """The sleep set of the node after ``node`` ran ``event``."""
        out = []
        names: tuple[object, ...] | None = None
        for decision in node.sleep + node.done:
            if decision[0] == event.tid:
                continue
            effects = node.effects[decision]
            if UNKNOWN in effects or (READ_OF, UNKNOWN) in effects:
                continue  # it touched an object other runs cannot name: it wakes up
            pending = run.threads[decision[0]].pending
            if pending is None:
                continue
            if names is None:  # an object without a name is none of the named effects
                names = self._event_names(run, event)
            if not self._dependent(pending, effects, event, names):
                out.append((decision, effects))
        return out

    @staticmethod
    def _event_names(run: Run, event: _Event) -> tuple[object, ...]:
        """The stable names of what ``event`` accessed: written objects (its operation's
        object unless the operation is a READ, its record's locks and plain writes)
        plainly, read ones as ``(READ_OF, name)``."""
        op = event.op
        reads_op = op.kind is READ
        written = [op.obj] if op.obj is not None and not reads_op else []
        read = [op.obj] if op.obj is not None and reads_op else []
        named = (stable_name(obj, run.base) for obj in [*written, *event.touched])
        names = tuple(name for name in named if name is not None)
        named_reads = (stable_name(obj, run.base) for obj in [*read, *event.read])
        return names + tuple((READ_OF, name) for name in named_reads if name is not None)

    @staticmethod
    def _dependent(pending: Op, effects: tuple[object, ...], event: _Event,
                   names: tuple[object, ...]) -> bool:
        """Whether a sleeping step (``pending``, whose record touched the objects named
        ``effects`` when it ran) conflicts with ``event`` (whose op object and record
        have ``names``; reads on either side as ``(READ_OF, name)``, and two reads do not
        conflict)."""
        op = event.op
        if event.spin or pending.kind is SPIN:
            return True
        if pending.obj is not None and ((pending.obj is op.obj and pending.conflicts(op))
                                        or among(pending.obj, event.touched)
                                        or (pending.kind is not READ
                                            and among(pending.obj, event.read))):
            return True
        for name in effects:
            if isinstance(name, tuple) and len(name) == 2 and name[0] == READ_OF:
                if name[1] in names:  # the sleeper read what the event wrote
                    return True
            elif name in names or (READ_OF, name) in names:
                return True
        return False

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

    # -- checkpoints ------------------------------------------------------------------------
    def frontier(self) -> dict[str, Any]:
        """The node stack as JSON (a checkpoint's frontier: docs/checkpoints.md); a sleeping
        step's effects are its stable names."""
        return {"strategy": "dpor", "bounded": self.bounded, "branch": self.branch,
                "nodes": [_node_json(node) for node in self.stack]}

    def restore(self, frontier: dict[str, Any]) -> None:
        """Go on from a :meth:`frontier`."""
        self.bounded = frontier["bounded"]
        self.branch = frontier["branch"]
        self.stack = [_node_of(data) for data in frontier["nodes"]]


_LISTS = ("enabled", "sleep", "backtrack", "done", "skipped")


def _node_json(node: _Node) -> dict[str, Any]:
    out: dict[str, Any] = {name: jsonable(getattr(node, name)) for name in _LISTS}
    out["effects"] = [[list(d), jsonable(names)] for d, names in node.effects.items()]
    out.update(taken=list(node.taken), last=node.last, preemptions=node.preemptions,
               spinning=node.spinning)
    return out


def _decisions(data: list[list[int]]) -> list[Decision]:
    return [(d[0], d[1]) for d in data]


def _node_of(data: dict[str, Any]) -> _Node:
    node = _Node(_decisions(data["enabled"]), [], data["last"], data["preemptions"])
    node.sleep = _decisions(data["sleep"])
    node.effects = {(d[0], d[1]): tupled(names) for d, names in data["effects"]}
    node.backtrack = _decisions(data["backtrack"])
    node.done = _decisions(data["done"])
    node.skipped = _decisions(data["skipped"])
    node.taken = (data["taken"][0], data["taken"][1])
    node.spinning = data["spinning"]
    return node


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
    if not base and split is None:
        attach_frontier(search, "dpor", driver)
    prefix = driver.prefix(base)
    while search.budget_left():
        search.boundary()
        driver.reset()
        search.run(prefix, driver)
        if not driver.backtrack():
            break
        prefix = driver.prefix(base)
    if driver.bounded:
        search.stats.complete = False
    return driver.leaves


class Dpor:
    """The strategy: one run per trace, split into the subtrees (with their sleep sets) of
    the tree's top. A split may run more executions than one process; it finds the same
    properties broken."""

    name = "dpor"
    exhaustive = True
    resumable = True

    def run(self, search: Search, bound: int | None, share: Share = WHOLE) -> None:
        dpor(search, bound, share.prefix, share.sleep)

    def split(self, search: Search, bound: int | None, parts: int) -> list[Share]:
        def expand(top: Search, share: Share, depth: int) -> list[Share]:
            return [Share(tuple(leaf), tuple(sleep))
                    for leaf, sleep in dpor(top, bound, share.prefix, share.sleep, depth)]

        return split_tree(search, bound, parts, expand)
