"""Random sequences with swap: touches and re-touches (swap-ins), forks, exits, limit and
memsw-limit writes, swapoff/swapon and reclaim under small limits keep every invariant
(kernel/invariants.check_all, the swap ones included) after every operation, on both
kernels. Once every task has exited and the swap cache is dropped (swapoff of every area:
try_to_unuse deletes each remaining swap-cache page, the kernel's own way to empty it),
usage and memsw usage are 0 in every group.

Hypothesis with a fixed seed (derandomize) and a bounded budget (the file runs in well
under a minute on 2 cores). Limits stay at or above 64K (16 pages), above PAGEVEC_SIZE,
so reclaim has pages to swap instead of OOM-killing at once.
"""

from __future__ import annotations

import errno

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from swaplab import System
from swaplab.kernel import invariants
from swaplab.system import Mapping, Task

PAGE = 4096
GROUPS = ["/A", "/B", "/A/C"]
LIMITS = ["64K", "96K", "128K", "256K", "-1"]

op = st.one_of(
    st.tuples(st.just("spawn"), st.sampled_from(GROUPS)),
    st.tuples(st.just("mmap"), st.integers(0, 7), st.integers(16, 96),
              st.sampled_from(["anon", "anon", "anon", "shared", "shm"])),
    st.tuples(st.just("touch"), st.integers(0, 7), st.integers(0, 7), st.booleans()),
    st.tuples(st.just("touch"), st.integers(0, 7), st.integers(0, 7), st.booleans()),
    st.tuples(st.just("touch"), st.integers(0, 7), st.integers(0, 7), st.just(False)),
    st.tuples(st.just("fork"), st.integers(0, 7)),
    st.tuples(st.just("exit"), st.integers(0, 7)),
    st.tuples(st.just("munmap"), st.integers(0, 7), st.integers(0, 7)),
    st.tuples(st.just("move"), st.integers(0, 7), st.sampled_from(["/", *GROUPS])),
    st.tuples(st.just("limit"), st.sampled_from(GROUPS), st.sampled_from(LIMITS)),
    st.tuples(st.just("limit"), st.sampled_from(GROUPS), st.sampled_from(LIMITS)),
    st.tuples(st.just("memsw"), st.sampled_from(GROUPS), st.sampled_from(LIMITS)),
    st.tuples(st.just("swapoff")),
    st.tuples(st.just("swapon"), st.sampled_from(["256K", "1M"])),
    st.tuples(st.just("force_empty"), st.sampled_from(GROUPS)),
)


class Model:
    """The machine with one 1M swap area, the tasks and mappings of the random program."""

    def __init__(self, kernel: str) -> None:
        self.s = System(kernel=kernel, ram="16M", swap="1M", page_cluster=2,
                        max_steps=2_000_000)
        for group in GROUPS:
            self.s.mkdir(group)
        self.tasks: list[Task] = []
        self.maps: dict[int, list[Mapping]] = {}
        self.shm_key = 100
        self.s.write("/A/memory.limit_in_bytes", "96K")
        self.s.write("/B/memory.limit_in_bytes", "64K")
        for group in ("/A", "/B"):  # two tasks with a 64-page anon mapping each
            self.op_spawn(group)
            self.op_mmap(len(self.tasks) - 1, 64, "anon")

    def pick(self, i: int) -> Task | None:
        live = [t for t in self.tasks if t.state == "running"]
        return live[i % len(live)] if live else None

    def apply(self, step: tuple[object, ...]) -> None:
        name = step[0]
        try:
            getattr(self, f"op_{name}")(*step[1:])
        except OSError as e:  # refused writes, a failing swapoff: part of the game
            event(f"refused: {name} {errno.errorcode[e.errno or 0]}")
            assert e.errno in (errno.EBUSY, errno.EINVAL, errno.ENOMEM), e

    def op_spawn(self, group: str) -> None:
        t = self.s.spawn(group)
        self.tasks.append(t)
        self.maps[t.pid] = []

    def op_mmap(self, i: int, pages: int, kind: str) -> None:
        t = self.pick(i)
        if t is None:
            return
        if kind == "shm":
            self.shm_key += 1
            m = t.shm(self.shm_key, pages * PAGE)
            t.shm_rmid(m)  # destroyed at the last detach (munmap or exit)
        elif kind == "shared":
            m = t.mmap_shared_zero(pages * PAGE)
        else:
            m = t.mmap_anon(pages * PAGE)
        self.maps[t.pid].append(m)

    def _map(self, t: Task, j: int) -> Mapping | None:
        maps = self.maps[t.pid]
        return maps[j % len(maps)] if maps else None

    def op_touch(self, i: int, j: int, write: bool) -> None:
        t = self.pick(i)
        m = self._map(t, j) if t else None
        if t and m:
            t.touch(m, write=write)

    def op_munmap(self, i: int, j: int) -> None:
        t = self.pick(i)
        m = self._map(t, j) if t else None
        if t and m:
            if m.kind == "shm":
                t.shmdt(m)
            else:
                t.munmap(m)
            self.maps[t.pid].remove(m)

    def op_fork(self, i: int) -> None:
        t = self.pick(i)
        if t:
            child = t.fork()
            self.tasks.append(child)
            self.maps[child.pid] = list(self.maps[t.pid])

    def op_exit(self, i: int) -> None:
        t = self.pick(i)
        if t:
            t.exit()

    def op_move(self, i: int, group: str) -> None:
        t = self.pick(i)
        if t:
            t.move_to(group)

    def op_limit(self, group: str, value: str) -> None:
        self.s.write(f"{group}/memory.limit_in_bytes", value)

    def op_memsw(self, group: str, value: str) -> None:
        self.s.write(f"{group}/memory.memsw.limit_in_bytes", value)

    def op_swapoff(self) -> None:
        self.s.swapoff()

    def op_swapon(self, size: str) -> None:
        if self.s.read("/proc/meminfo").count("SwapTotal:             0 kB"):
            self.s.swapon(size)

    def op_force_empty(self, group: str) -> None:
        self.s.write(f"{group}/memory.force_empty", "1")


def counters(s: System, group: str) -> tuple[int, int]:
    return (int(s.read(f"{group}/memory.usage_in_bytes")),
            int(s.read(f"{group}/memory.memsw.usage_in_bytes")))


@settings(max_examples=800, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(kernel=st.sampled_from(["2.6.30", "2.6.31"]), steps=st.lists(op, min_size=5, max_size=40))
def test_random_swap_operations_keep_the_invariants(
        kernel: str, steps: list[tuple[object, ...]]) -> None:
    model = Model(kernel)
    s = model.s
    peak = 0
    for number, step in enumerate(steps):
        model.apply(step)
        peak = max(peak, sum(si.inuse_pages for si in s.k.swap_info))
        broken = s.check_invariants()
        assert broken == [], f"after step {number} {step}: {broken}"
        for group in s.groups():
            usage, memsw = counters(s, group)
            assert memsw >= usage, (number, step, group)
    event(f"peak slots in use: {'none' if not peak else '<64' if peak < 64 else '>=64'}")
    event(f"OOM kills: {min(2, sum(t.state == 'killed' for t in model.tasks))}")
    event(f"orphans at the end: {'some' if invariants.orphan_swap_cache_pages(s.k) else 'none'}")
    for t in model.tasks:
        if t.state == "running":
            t.exit()
        assert t.state in ("exited", "killed")
    assert s.check_invariants() == []
    s.swapoff()  # drop the swap cache: every slot left is cache-only now
    assert s.check_invariants() == []
    assert s.k.swapper_space.nrpages == 0
    assert s.k.swap_cgroup == {}
    for group in s.groups():
        assert counters(s, group) == (0, 0), group
