"""Random sequences of task operations, limit writes, moves and rmdirs keep every invariant
(kernel/invariants.check_all) after every operation; once all tasks have exited, every
group's usage is 0. Hypothesis with a fixed seed (derandomize) and a bounded budget."""

from __future__ import annotations

import errno

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from swaplab import System
from swaplab.system import Mapping, Task

PAGE = 4096
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


class Model:
    """The machine plus the tasks and mappings the random program has made."""

    def __init__(self, kernel: str) -> None:
        self.s = System(kernel=kernel, ram="16M", swap="0", max_steps=2_000_000)
        for group in GROUPS[1:]:
            self.s.mkdir(group)
        self.tasks: list[Task] = []
        self.maps: dict[int, list[Mapping]] = {}
        self.shm_key = 100
        for group in ("/A", "/A/C"):  # two tasks to start with
            self.op_spawn(group)

    def pick(self, i: int) -> Task | None:
        live = [t for t in self.tasks if t.state == "running"]
        return live[i % len(live)] if live else None

    def apply(self, step: tuple[object, ...]) -> None:
        name = step[0]
        try:
            getattr(self, f"op_{name}")(*step[1:])
        except OSError as e:  # refused writes and mkdir/rmdir are part of the game
            event(f"refused: {name} {errno.errorcode[e.errno or 0]}")
            assert e.errno in (errno.EBUSY, errno.EINVAL, errno.ENOENT, errno.EEXIST,
                               errno.ENOMEM, errno.ESRCH), e

    def op_spawn(self, group: str) -> None:
        if self.s._lookup(group) is not None:
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
            t.shm_rmid(m)  # destroyed at the last detach (exit or munmap)
        elif kind == "shared":
            m = t.mmap_shared_zero(pages * PAGE)
        else:
            m = t.mmap_anon(pages * PAGE, locked=kind == "locked")
        if t.state == "running":
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

    def op_mlock(self, i: int, j: int) -> None:
        t = self.pick(i)
        m = self._map(t, j) if t else None
        if t and m:
            t.mlock(m)

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
    for t in model.tasks:
        if t.state == "running":
            t.exit()
        assert t.state in ("exited", "killed")
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
