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
from random_program import RandomProgram

from swaplab import System
from swaplab.kernel import invariants

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


class Model(RandomProgram):
    """The machine with one 1M swap area: memsw limits, swapoff/swapon, force_empty."""

    refusals = (errno.EBUSY, errno.EINVAL, errno.ENOMEM)

    def __init__(self, kernel: str) -> None:
        super().__init__(System(kernel=kernel, ram="16M", swap="1M", page_cluster=2,
                                max_steps=2_000_000))
        for group in GROUPS:
            self.s.mkdir(group)
        self.s.write("/A/memory.limit_in_bytes", "96K")
        self.s.write("/B/memory.limit_in_bytes", "64K")
        for group in ("/A", "/B"):  # two tasks with a 64-page anon mapping each
            self.op_spawn(group)
            self.op_mmap(len(self.tasks) - 1, 64, "anon")

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
    model.exit_all()
    assert s.check_invariants() == []
    s.swapoff()  # drop the swap cache: every slot left is cache-only now
    assert s.check_invariants() == []
    assert s.k.swapper_space.nrpages == 0
    assert s.k.swap_cgroup == {}
    for group in s.groups():
        assert counters(s, group) == (0, 0), group
