"""A small generator of hunt cases for the hunt's tests, with the interface of
swaplab.hunt.cases (Case, cases(), build()): a Type-1 state (a swapped-out page next to
another task's, readahead over both), a Type-2 state (a resident page, the group's limit
reclaim) and a state whose operations share nothing that can go wrong."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from swaplab import System

#: This module's name, as hunt(generator=...) takes it.
GENERATOR = __name__
#: Executions per case in the tests: enough for the Type-1 and Type-2 cases to find their race.
CAP = 400
#: A few cases of the real generator (swaplab.hunt.cases) on 2.6.30: Type-1 in two of them
#: (exit or munmap against a fault whose readahead covers the slot), nothing in two.
REAL_CASES = (r"^s01-swapped-neighbours\|"
              r"(exit 1\|touch|fork 1\|touch|touch 1 A:0\|fork|munmap 1 A\|touch)")
#: Executions per case of those: enough for Type-1.
REAL_CAP = 150
#: The hunts of the tests that are not about the second search of a capped case run none
#: (run.HuntConfig.retry_executions): the cases stay as cheap as their dpor cap.
NO_RETRY = 0


@dataclass(frozen=True, slots=True)
class Case:
    state: str
    ops: tuple[str, ...]
    objects: tuple[str, ...]

    def key(self) -> str:
        return f"{self.state}|{'|'.join(self.ops)}"


def cases(kernel: str, patches: str | None = None, fixes: tuple[str, ...] = (),
          seed: int = 0, depth: int = 2) -> list[Case]:
    return [
        Case("readahead", ("exit a", "fault b"), ("swap slot 0x1",)),
        Case("quiet", ("exit a", "exit b"), ("memcg /A",)),
        Case("resident", ("exit a", "reclaim /A"), ("page of a",)),
        Case("readahead", ("munmap a", "fault b"), ("swap slot 0x1",)),
    ]


def _system(kernel: str, patches: str | None, fixes: tuple[str, ...]) -> System:
    s = System(kernel=kernel, ram="2M", swap="256K", page_cluster=3, patches=patches,
               fixes=",".join(fixes) or None)
    s.mkdir("/A")
    s.write("/A/memory.limit_in_bytes", "64K")
    return s


def build(case: Case, kernel: str, patches: str | None = None, fixes: tuple[str, ...] = (),
          seed: int = 0) -> tuple[System, dict[str, Callable[[], object]]]:
    s = _system(kernel, patches, fixes)
    a, b = s.spawn("/A"), s.spawn("/A")
    ma, mb = a.mmap_anon("4K"), b.mmap_anon("4K")
    a.touch(ma)
    if case.state != "resident":  # there, reclaim has a's page alone to scan
        b.touch(mb)
    if case.state == "readahead":
        filler = s.spawn("/A")  # pushes a's and b's pages out to adjacent slots
        filler.touch(filler.mmap_anon("64K"))
        filler.exit()
    ops: dict[str, Callable[[], object]] = {
        "exit a": a.exit, "exit b": b.exit, "fault b": lambda: b.touch(mb),
        "munmap a": lambda: a.munmap(ma), "reclaim /A": lambda: s.reclaim("/A"),
    }
    return s, {f"{label}: {op}": ops[op] for label, op in zip("AB", case.ops, strict=True)}

