"""The random program both property tests run: a System, the tasks and mappings it made,
and one method per operation. Each test file adds its own operations and settings."""

from __future__ import annotations

import errno

from hypothesis import event

from swaplab import System
from swaplab.system import Mapping, Task

PAGE = 4096


class RandomProgram:
    """The machine plus the tasks and mappings the random program has made.

    ``refusals`` are the errnos an operation may fail with as part of the game (refused
    writes, mkdir/rmdir of a busy or missing group, a swapoff that cannot charge back).
    """

    refusals: tuple[int, ...] = (errno.EBUSY, errno.EINVAL)

    def __init__(self, s: System) -> None:
        self.s = s
        self.tasks: list[Task] = []
        self.maps: dict[int, list[Mapping]] = {}
        self.shm_key = 100

    def pick(self, i: int) -> Task | None:
        live = [t for t in self.tasks if t.state == "running"]
        return live[i % len(live)] if live else None

    def apply(self, step: tuple[object, ...]) -> None:
        name = step[0]
        try:
            getattr(self, f"op_{name}")(*step[1:])
        except OSError as e:
            event(f"refused: {name} {errno.errorcode[e.errno or 0]}")
            assert e.errno in self.refusals, e

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
        if t.state == "running":  # MAP_LOCKED may have got it OOM-killed
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

    def exit_all(self) -> None:
        """Every task still running exits; none is left alive."""
        for t in self.tasks:
            if t.state == "running":
                t.exit()
            assert t.state in ("exited", "killed")
