"""Random sequences of task operations, limit writes, moves and rmdirs keep every invariant
(kernel/invariants.check_all) after every operation; once all tasks have exited, every
group's usage is 0. Hypothesis with a fixed seed (derandomize) and a bounded budget."""

from __future__ import annotations

import errno

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from random_program import PAGE, RandomProgram

from swaplab import System

GROUPS = ["/", "/A", "/B", "/A/C"]

spawn = st.tuples(st.just("spawn"), st.sampled_from(GROUPS))
mmap = st.tuples(st.just("mmap"), st.integers(0, 7), st.integers(1, 6),
                 st.sampled_from(["anon", "anon", "locked", "shared", "shm"]))
touch = st.tuples(st.just("touch"), st.integers(0, 7), st.integers(0, 7), st.booleans())
limit = st.tuples(st.just("limit"), st.sampled_from(GROUPS[1:]),
                  st.sampled_from(["0", "8K", "16K", "40K", "1M", "-1"]))
op = st.one_of(
    spawn, mmap, mmap, touch, touch, touch, limit, limit,
    st.tuples(st.just("munmap"), st.integers(0, 7), st.integers(0, 7)),
    st.tuples(st.just("mlock"), st.integers(0, 7), st.integers(0, 7)),
    st.tuples(st.just("fork"), st.integers(0, 7)),
    st.tuples(st.just("exit"), st.integers(0, 7)),
    st.tuples(st.just("move"), st.integers(0, 7), st.sampled_from(GROUPS)),
    st.tuples(st.just("read"), st.integers(0, 7), st.integers(1, 20)),
    st.tuples(st.just("rmdir"), st.sampled_from(GROUPS[1:])),
    st.tuples(st.just("mkdir"), st.sampled_from(GROUPS[1:])),
    st.tuples(st.just("hierarchy"), st.sampled_from(GROUPS[1:]), st.booleans()),
)


class Model(RandomProgram):
    """No swap: mlock, clean file cache, mkdir/rmdir and hierarchy switches besides."""

    refusals = (errno.EBUSY, errno.EINVAL, errno.ENOENT, errno.EEXIST, errno.ENOMEM,
                errno.ESRCH)

    def __init__(self, kernel: str) -> None:
        super().__init__(System(kernel=kernel, ram="16M", swap="0", max_steps=2_000_000))
        for group in GROUPS[1:]:
            self.s.mkdir(group)
        for group in ("/A", "/A/C"):  # two tasks to start with
            self.op_spawn(group)

    def op_mlock(self, i: int, j: int) -> None:
        t = self.pick(i)
        m = self._map(t, j) if t else None
        if t and m:
            t.mlock(m)

    def op_read(self, i: int, pages: int) -> None:
        t = self.pick(i)
        if t:
            self.s.read_file_cache(t, pages * PAGE)

    def op_rmdir(self, group: str) -> None:
        self.s.rmdir(group)

    def op_mkdir(self, group: str) -> None:
        self.s.mkdir(group)

    def op_hierarchy(self, group: str, on: bool) -> None:
        self.s.write(f"{group}/memory.use_hierarchy", "1" if on else "0")


@settings(max_examples=300, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(kernel=st.sampled_from(["2.6.30", "2.6.31"]), steps=st.lists(op, min_size=5, max_size=50))
def test_random_operations_keep_the_invariants(kernel: str, steps: list[tuple[object, ...]]
                                               ) -> None:
    model = Model(kernel)
    for number, step in enumerate(steps):
        model.apply(step)
        broken = model.s.check_invariants()
        assert broken == [], f"after step {number} {step}: {broken}"
        for group in model.s.groups():  # no swap: mem+swap is memory alone
            memsw = model.s.read(f"{group}/memory.memsw.usage_in_bytes")
            assert memsw == model.s.read(f"{group}/memory.usage_in_bytes"), (number, group)
    event(f"OOM kills: {min(3, sum(t.state == 'killed' for t in model.tasks))}")
    model.exit_all()
    assert model.s.check_invariants() == []
    read_files = any(step[0] == "read" for step in steps)
    for group in model.s.groups():
        usage = int(model.s.read(f"{group}/memory.usage_in_bytes"))
        stat = dict(line.split() for line in model.s.read(f"{group}/memory.stat").splitlines())
        assert stat["rss"] == "0", group
        # Only clean file cache (read_file_cache) outlives the tasks that read it; a group
        # with use_hierarchy also counts its children's.
        hierarchy = model.s.read(f"{group}/memory.use_hierarchy") == "1\n"
        cache = int(stat["total_cache" if hierarchy else "cache"])
        assert usage == (cache if read_files else 0), f"{group}: usage {usage}"
