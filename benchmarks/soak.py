"""Soak: a long random sequence of System operations per kernel, every invariant checked
after each one.

Each kernel (2.6.30, 2.6.31) runs ``--ops`` operations drawn from a seeded random number
generator: spawn, mmap (anon, MAP_LOCKED, shared /dev/zero, SysV shm), touch (read and
write: faults, swap-ins, COW), fork, clone of a thread, exit, munmap/shmdt, madvise
(MADV_DONTNEED), mlock, file reads (page cache), task moves, limit and memsw limit writes,
force_empty, mkdir/rmdir of groups, swapoff/swapon. The machine is small (a 1M swap area,
limits of 64K..256K) so memcg reclaim, swap-out, swap-in and the memcg OOM killer run all
the time. After each operation (a quiescent point: System runs every kernel path to
completion) kernel/invariants.check_all() runs. A refused operation (EBUSY, EINVAL, ENOMEM,
...) is part of the game. A KernelBug, deadlock or step limit is counted as a violation of
its own; the machine is then rebuilt and the soak goes on.

RAM is 4M (1024 frames; ``--ram`` to change it). The groups' limits are far below it, so
the memcg side of the workload hardly depends on it: over the first 5,000 operations of
seed 0 (``--ops 5000 --segment-ops 5000``) a 16M machine and a 4M one kill as many tasks in
memcg OOM (73 on 2.6.30, 87 on 2.6.31) and scan as many pages in memcg reclaim (5,801 on
2.6.31; 28,327 against 28,379 on 2.6.30). What RAM changes is the root group, which has no
limit: on 16M nothing presses the zone, so its page cache only grows, and every check_all()
walks it (up to 1,871 pages on 2.6.30 and 2,117 on 2.6.31 by then, more later); on 4M
global reclaim runs too (928 and 1,184 pages scanned), which the 16M machine never reached,
and the pages stay below 1,024. The totals print these counters.

Segments: the ``--ops`` of a kernel are cut into segments of ``--segment-ops`` operations
(the last one shorter); segment i starts a new machine with a random generator seeded from
``--seed`` and i alone, so the totals depend on the seed and the segment size, never on
``--jobs``, which only says how many processes run the segments (explore/backend.py's local
pool). The segments of all kernels are dealt in one pool, interleaved, so a run that is
stopped early has covered every kernel alike; a line per finished segment says what it saw.
Operation indexes are global: segment i's first operation is i x ``--segment-ops``.

``--budget TIME`` (or Ctrl-C) stops the run: each running segment after its current
operation, the later ones before their first; the totals count the operations that ran
(each segment's first ones, so the same seed and budget-free rerun of a segment repeats
them). Prints per kernel: operations, the processes' seconds and operations/s per process,
the run's wall time, and the violations grouped by invariant (operations that broke it, the
first operation's index and message). Always exits 0. A plain script, not a test:
    python benchmarks/soak.py [--ops N] [--seed S] [--kernel 2.6.30,2.6.31] [--jobs N]
        [--segment-ops N] [--ram SIZE] [--budget TIME]
"""

from __future__ import annotations

import argparse
import errno
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from random import Random

from swaplab import System, interrupt
from swaplab.explore.backend import worker_pool
from swaplab.explore.execution import Deadlock, StepLimit
from swaplab.kernel.errno import KernelBug
from swaplab.system import Mapping, Task, parse_size

PAGE = 4096
GROUPS = ("/A", "/B", "/A/C", "/D")
LIMITS = ("64K", "96K", "128K", "256K", "-1")
MAX_TASKS = 8  # live tasks; spawn/fork/clone beyond are skipped
MAX_MAPS = 4  # mappings per task


@dataclass
class Violation:
    """One invariant's record: how many operations broke it, and the first one."""

    ops: int = 0
    first: int = -1
    first_step: str = ""
    message: str = ""


@dataclass
class Tally:
    """What one kernel's soak saw."""

    kernel: str
    ops: int = 0
    seconds: float = 0.0
    refused: int = 0
    rebuilt: int = 0
    violations: dict[str, Violation] = field(default_factory=dict)
    #: what the machines did, summed over them (kernel counters): pages scanned by memcg
    #: and by global reclaim, tasks killed by the memcg and the global OOM killer
    activity: dict[str, int] = field(default_factory=dict)
    #: the most pages allocated at once (what check_all() walks)
    max_pages: int = 0

    def count(self, m: Machine) -> None:
        """Add the counters of a machine that is done (rebuilt or at the end)."""
        k = m.s.k
        for name, n in (("memcg reclaim scans", k.pgscan_memcg),
                        ("global reclaim scans", k.pgscan_global),
                        ("memcg OOM kills", sum(k.memcg_oom_kills.values())),
                        ("global OOM kills", k.oom_kills)):
            self.activity[name] = self.activity.get(name, 0) + n

    def note(self, name: str, index: int, step: str, message: str) -> None:
        v = self.violations.setdefault(name, Violation())
        if v.ops == 0:
            v.first, v.first_step, v.message = index, step, message
        v.ops += 1

    def merge(self, other: Tally) -> None:
        """Add a later segment's tally (its indexes already global)."""
        self.ops += other.ops
        self.seconds += other.seconds
        self.refused += other.refused
        self.rebuilt += other.rebuilt
        self.max_pages = max(self.max_pages, other.max_pages)
        for name, n in other.activity.items():
            self.activity[name] = self.activity.get(name, 0) + n
        for name, v in other.violations.items():
            mine = self.violations.setdefault(name, Violation())
            if mine.ops == 0:
                mine.first, mine.first_step, mine.message = v.first, v.first_step, v.message
            mine.ops += v.ops


class Machine:
    """The System plus the tasks and mappings the soak made (same shape as the property
    tests' random program)."""

    def __init__(self, kernel: str, ram: str = "4M") -> None:
        self.s = System(kernel=kernel, ram=ram, swap="1M", page_cluster=2,
                        max_steps=1_000_000)
        self.tasks: list[Task] = []
        self.maps: dict[int, list[Mapping]] = {}
        self.shm_key = 100
        for group in ("/A", "/B", "/A/C"):
            self.s.mkdir(group)
        self.s.write("/A/memory.limit_in_bytes", "96K")
        self.s.write("/B/memory.limit_in_bytes", "64K")

    def live(self) -> list[Task]:
        return [t for t in self.tasks if t.state == "running"]

    def adopt(self, t: Task, maps: list[Mapping]) -> None:
        self.tasks = [*self.live(), t]
        self.maps[t.pid] = maps


def _task(m: Machine, rng: Random) -> Task | None:
    live = m.live()
    return live[rng.randrange(len(live))] if live else None


def _mapping(m: Machine, rng: Random) -> tuple[Task, Mapping] | None:
    t = _task(m, rng)
    maps = m.maps.get(t.pid, []) if t else []
    return (t, maps[rng.randrange(len(maps))]) if t and maps else None


def _group(m: Machine, rng: Random) -> str:
    return rng.choice([g for g in GROUPS if m.s._lookup(g) is not None] or ["/"])


def op_spawn(m: Machine, rng: Random) -> str:
    group = rng.choice(("/", *GROUPS))
    if len(m.live()) >= MAX_TASKS or m.s._lookup(group) is None:
        return "spawn (skipped)"
    m.adopt(m.s.spawn(group), [])
    return f"spawn {group}"


def op_mmap(m: Machine, rng: Random) -> str:
    t = _task(m, rng)
    if t is None or len(m.maps[t.pid]) >= MAX_MAPS:
        return "mmap (skipped)"
    pages = rng.randrange(8, 65)
    kind = rng.choice(("anon", "anon", "anon", "locked", "shared", "shm"))
    if kind == "shm":
        m.shm_key += 1
        mp = t.shm(m.shm_key, pages * PAGE)
        t.shm_rmid(mp)  # destroyed at the last detach
    elif kind == "shared":
        mp = t.mmap_shared_zero(pages * PAGE)
    else:
        mp = t.mmap_anon(pages * PAGE, locked=kind == "locked")
    if t.state == "running":
        m.maps[t.pid].append(mp)
    return f"mmap {t.pid} {kind} {pages}p"


def op_touch(m: Machine, rng: Random) -> str:
    tm = _mapping(m, rng)
    if tm is None:
        return "touch (skipped)"
    write = rng.random() < 0.6
    tm[0].touch(tm[1], write=write)
    return f"touch {tm[0].pid} {'w' if write else 'r'}"


def op_munmap(m: Machine, rng: Random) -> str:
    tm = _mapping(m, rng)
    if tm is None:
        return "munmap (skipped)"
    t, mp = tm
    m.maps[t.pid].remove(mp)
    if mp.kind == "shm":
        t.shmdt(mp)
    else:
        t.munmap(mp)
    return f"munmap {t.pid}"


def _not_shm(m: Machine, rng: Random, name: str, call: Callable[[Task, Mapping], None]) -> str:
    """``call`` on a random mapping that is not SysV shm (madvise, mlock)."""
    tm = _mapping(m, rng)
    if tm is None or tm[1].kind == "shm":
        return f"{name} (skipped)"
    call(*tm)
    return f"{name} {tm[0].pid}"


def op_madvise(m: Machine, rng: Random) -> str:
    return _not_shm(m, rng, "madvise", lambda t, mp: t.madvise(mp))


def op_mlock(m: Machine, rng: Random) -> str:
    return _not_shm(m, rng, "mlock", lambda t, mp: t.mlock(mp))


def op_fork(m: Machine, rng: Random) -> str:
    t = _task(m, rng)
    if t is None or len(m.live()) >= MAX_TASKS:
        return "fork (skipped)"
    m.adopt(t.fork(), list(m.maps[t.pid]))
    return f"fork {t.pid}"


def op_clone(m: Machine, rng: Random) -> str:
    t = _task(m, rng)
    if t is None or len(m.live()) >= MAX_TASKS:
        return "clone (skipped)"
    m.adopt(t.clone_thread(), m.maps[t.pid])  # threads share the mm: one mapping list
    return f"clone {t.pid}"


def op_exit(m: Machine, rng: Random) -> str:
    t = _task(m, rng)
    if t is None:
        return "exit (skipped)"
    t.exit()
    return f"exit {t.pid}"


def op_move(m: Machine, rng: Random) -> str:
    t = _task(m, rng)
    if t is None:
        return "move (skipped)"
    group = rng.choice(("/", _group(m, rng)))
    t.move_to(group)
    return f"move {t.pid} {group}"


def op_read_file(m: Machine, rng: Random) -> str:
    t = _task(m, rng)
    if t is None:
        return "read_file (skipped)"
    t.read_file(rng.randrange(1, 33) * PAGE)
    return f"read_file {t.pid}"


def op_limit(m: Machine, rng: Random) -> str:
    group, value = _group(m, rng), rng.choice(LIMITS)
    which = rng.choice(("limit", "memsw.limit"))
    if group != "/":
        m.s.write(f"{group}/memory.{which}_in_bytes", value)
    return f"{which} {group} {value}"


def op_force_empty(m: Machine, rng: Random) -> str:
    group = _group(m, rng)
    if group != "/":
        m.s.write(f"{group}/memory.force_empty", "1")
    return f"force_empty {group}"


def op_mkdir(m: Machine, rng: Random) -> str:
    group = rng.choice(GROUPS)
    parent = group.rpartition("/")[0] or "/"
    if m.s._lookup(group) is not None or m.s._lookup(parent) is None:
        return "mkdir (skipped)"
    m.s.mkdir(group)
    return f"mkdir {group}"


def op_rmdir(m: Machine, rng: Random) -> str:
    group = _group(m, rng)
    if group == "/":
        return "rmdir (skipped)"
    m.s.rmdir(group)
    return f"rmdir {group}"


def op_swapoff(m: Machine, rng: Random) -> str:
    m.s.swapoff()
    return "swapoff"


def op_swapon(m: Machine, rng: Random) -> str:
    if "SwapTotal:             0 kB" not in m.s.read("/proc/meminfo"):
        return "swapon (skipped)"
    size = rng.choice(("256K", "1M"))
    m.s.swapon(size)
    return f"swapon {size}"


Op = Callable[[Machine, Random], str]
#: (operation, weight): faults dominate, as in a running system
OPS: tuple[tuple[Op, int], ...] = (
    (op_spawn, 4), (op_mmap, 6), (op_touch, 20), (op_munmap, 3), (op_madvise, 2),
    (op_mlock, 1), (op_fork, 3), (op_clone, 1), (op_exit, 3), (op_move, 2),
    (op_read_file, 2), (op_limit, 3), (op_force_empty, 1), (op_mkdir, 1), (op_rmdir, 1),
    (op_swapoff, 1), (op_swapon, 1),
)
REFUSALS = (errno.EBUSY, errno.EINVAL, errno.ENOMEM, errno.EAGAIN, errno.ESRCH, errno.ENOENT,
            errno.EFAULT, errno.EEXIST)


def _check(m: Machine, tally: Tally, index: int, step: str) -> None:
    """Every invariant at this quiescent point, grouped by invariant name."""
    seen: dict[str, str] = {}
    for v in m.s.check_invariants():
        name, _, message = v.partition(": ")
        seen.setdefault(name, message)
    for name, message in seen.items():
        tally.note(name, index, step, message)


def soak(kernel: str, ops: int, seed: int | str, first: int = 0, ram: str = "4M") -> Tally:
    """``ops`` random operations on ``kernel``, every invariant checked after each; the
    operations are numbered from ``first``."""
    rng = Random(seed)
    fns = [fn for fn, _ in OPS]
    weights = [w for _, w in OPS]
    tally = Tally(kernel)
    m = Machine(kernel, ram)
    stop = interrupt.current()
    start = time.perf_counter()
    for index in range(first, first + ops):
        if stop is not None and stop.should_stop():
            break
        tally.ops += 1
        fn = rng.choices(fns, weights)[0]
        step = fn.__name__[3:]
        try:
            step = fn(m, rng)
        except (OSError, ProcessLookupError) as e:
            if e.errno not in REFUSALS:
                tally.note(f"unexpected errno {e.errno}", index, step, str(e))
            tally.refused += 1
        except (KernelBug, Deadlock, StepLimit) as e:
            tally.note(type(e).__name__, index, step, str(e)[:200])
            tally.rebuilt += 1
            tally.count(m)
            m = Machine(kernel, ram)
            continue
        _check(m, tally, index, step)
        tally.max_pages = max(tally.max_pages, len(m.s.k.pages))
    tally.seconds = time.perf_counter() - start
    tally.count(m)
    return tally


#: A segment: (kernel, segment number, operations, first operation's index, seed, RAM).
Segment = tuple[str, int, int, int, int, str]


def segment_seed(seed: int, number: int) -> str:
    """The random generator's seed of segment ``number`` (Random hashes a str with
    SHA-512: the same in every process and run)."""
    return f"soak:{seed}:{number}"


def segments(kernels: list[str], ops: int, size: int, seed: int,
             ram: str = "4M") -> list[Segment]:
    """Every kernel's segments, interleaved (segment 0 of each kernel, then 1, ...)."""
    count = (ops + size - 1) // size
    return [(kernel, i, min(size, ops - i * size), i * size, seed, ram)
            for i in range(count) for kernel in kernels]


def run_segment(seg: Segment) -> Tally:
    """One segment's soak (a pool worker's call)."""
    kernel, number, ops, first, seed, ram = seg
    return soak(kernel, ops, segment_seed(seed, number), first, ram)


def run(kernels: list[str], ops: int, size: int, seed: int, jobs: int,
        ram: str = "4M") -> list[Tally]:
    """Every segment, in ``jobs`` processes (this one when ``jobs`` is 1), a line per
    segment as it ends; the per-kernel totals, merged in segment order. At a stop
    (``--budget``, Ctrl-C) each running segment ends after its current operation and the
    later ones run none: the totals are the operations that ran."""
    todo = segments(kernels, ops, size, seed, ram)
    totals = {kernel: Tally(kernel) for kernel in kernels}
    if jobs <= 1:
        for seg in todo:
            _merge(totals, seg, run_segment(seg))
        return list(totals.values())
    with worker_pool(jobs, run_segment.__module__) as pool:
        for seg, tally in zip(todo, pool.imap(run_segment, todo), strict=True):
            _merge(totals, seg, tally)
    return list(totals.values())


def _merge(totals: dict[str, Tally], seg: Segment, tally: Tally) -> None:
    kernel, number, ops, first, _, _ = seg
    if not tally.ops:
        return
    names = ", ".join(f"{name} x{v.ops}" for name, v in tally.violations.items()) or "none"
    short = f" (stopped: {ops - tally.ops:,} not run)" if tally.ops < ops else ""
    print(f"  {kernel} segment {number}: ops {first:,}..{first + tally.ops - 1:,}{short}, "
          f"{tally.seconds:,.1f} s, violations: {names}", flush=True)
    totals[kernel].merge(tally)


def report(t: Tally, wall: float) -> None:
    rate = t.ops / t.seconds if t.seconds else 0.0
    print(f"{t.kernel}: {t.ops:,} operations in {t.seconds:,.1f} process-seconds, "
          f"{rate:,.0f} operations/s per process, {wall:,.1f} s wall for the run "
          f"({t.refused:,} refused, {t.rebuilt} machine rebuilds)")
    activity = ", ".join(f"{n:,} {name}" for name, n in t.activity.items())
    print(f"  activity: {activity}; at most {t.max_pages:,} pages allocated")
    if not t.violations:
        print("  violations: none")
    for name, v in sorted(t.violations.items(), key=lambda kv: kv[1].first):
        print(f"  {name}: {v.ops:,} operations, first at op {v.first} ({v.first_step}): "
              f"{v.message}")
    print(end="", flush=True)  # one kernel's report at a time, also into a file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ops", type=int, default=10**6, help="operations per kernel")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kernel", default="2.6.30,2.6.31",
                        help="comma-separated kernels (default 2.6.30,2.6.31)")
    parser.add_argument("--jobs", type=int, default=1, help="processes (default 1)")
    parser.add_argument("--segment-ops", type=int, default=50_000,
                        help="operations per segment (default 50,000)")
    parser.add_argument("--ram", default="4M", help="the machines' RAM (default 4M)")
    interrupt.add_stop_arguments(parser)
    args = parser.parse_args()
    kernels = args.kernel.split(",")
    if args.ops < 1 or args.jobs < 1 or args.segment_ops < 1:
        parser.error("--ops, --jobs and --segment-ops must be positive")
    if any(kernel not in ("2.6.30", "2.6.31") for kernel in kernels):
        parser.error(f"--kernel: 2.6.30 and/or 2.6.31, not {args.kernel!r}")
    try:
        parse_size(args.ram)
    except ValueError as err:
        parser.error(f"--ram: {err}")
    print(f"soak: {args.ops:,} operations per kernel ({', '.join(kernels)}), seed "
          f"{args.seed}, segments of {args.segment_ops:,}, {args.ram} of RAM, {args.jobs} "
          f"process(es)",
          flush=True)
    start = time.perf_counter()
    with interrupt.interruptible(args.budget) as stop:
        totals = run(kernels, args.ops, args.segment_ops, args.seed, args.jobs, args.ram)
    wall = time.perf_counter() - start
    if stop.reason is not None:
        print(f"stopped ({stop.reason}): the totals are the operations that ran")
    for tally in totals:
        report(tally, wall)
    sys.exit(0)


if __name__ == "__main__":
    main()
