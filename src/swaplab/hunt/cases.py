"""The cases `swaplab hunt` explores: every pair (or triple) of operations of a generated
state that touch a common object, and how to set one up for :meth:`System.race`.

A case names its state and its operations (:mod:`swaplab.hunt.states`,
:mod:`swaplab.hunt.ops`), so it can be rebuilt anywhere from its names alone: a fresh
machine is prepared sequentially and the operations are looked up by name. Two operations
one task would have to run at once (its exit and its fault) are no case: a task makes one
system call at a time (its threads are tasks of their own).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations

from swaplab.hunt.ops import Op, ops
from swaplab.hunt.states import CATALOGUE, build_state
from swaplab.system import System

#: The labels of a case's operations in a race, in order.
LABELS = ("A", "B", "C")


@dataclass(frozen=True, slots=True)
class Case:
    """Operations ``ops`` of state ``state`` raced together; ``objects`` are the objects
    all of them touch."""

    state: str
    ops: tuple[str, ...]
    objects: tuple[str, ...]

    def key(self) -> str:
        """The case's stable name: ``state|op|op``."""
        return f"{self.state}|{'|'.join(self.ops)}"


def _common(group: tuple[Op, ...]) -> tuple[str, ...]:
    """The objects every operation of ``group`` touches, in the first one's order."""
    rest = [set(op.objects) for op in group[1:]]
    return tuple(o for o in group[0].objects if all(o in r for r in rest))


#: Operations that hold mmap_sem for write (mm/mmap.c: do_munmap(), mm/mlock.c:
#: sys_mlock(), kernel/fork.c: dup_mmap() on the parent's mm).
MMAP_SEM_WRITERS = ("munmap", "mlock", "fork")


def _serialized(group: tuple[Op, ...], common: tuple[str, ...]) -> bool:
    """The operations share nothing but an mm whose mmap_sem one of them takes for write:
    they run one after the other, whatever the schedule."""
    return all(o.startswith("mm ") for o in common) and any(
        op.name.split()[0] in MMAP_SEM_WRITERS for op in group)


#: Operations that make a task leave or join a group (its task list).
LEAVERS = ("exit", "move")


def _both_refused(group: tuple[Op, ...], common: tuple[str, ...]) -> bool:
    """The operations share nothing but a group's task list and none of them changes it
    (force_empty and rmdir of a group with tasks both answer EBUSY)."""
    return all(o.startswith("cgroup ") for o in common) and not any(
        op.name.split()[0] in LEAVERS for op in group)


def _one_task_each(group: tuple[Op, ...]) -> bool:
    pids = [op.pid for op in group if op.pid is not None]
    return len(pids) == len(set(pids))


def cases(kernel: str, patches: str | None = None, fixes: tuple[str, ...] = (),
          seed: int = 0, depth: int = 2) -> list[Case]:
    """Every pair (depth 2) or triple (depth 3) of operations that touch a common object,
    over the generated states, in a deterministic order (same arguments, same list)."""
    if depth not in (2, 3):
        raise ValueError(f"depth must be 2 or 3, not {depth}")
    out: list[Case] = []
    for name in CATALOGUE:
        catalogue = ops(build_state(name, kernel, patches, fixes, seed))
        for group in combinations(catalogue, depth):
            common = _common(group)
            if (common and _one_task_each(group) and not _serialized(group, common)
                    and not _both_refused(group, common)):
                out.append(Case(name, tuple(op.name for op in group), common))
    return out


def build(case: Case, kernel: str, patches: str | None = None, fixes: tuple[str, ...] = (),
          seed: int = 0) -> tuple[System, dict[str, Callable[[], object]]]:
    """The case's state, prepared sequentially on a fresh System, and its operations as
    label -> callable ready for System.race(); labels "A: <op>", "B: <op>", "C: <op>"."""
    st = build_state(case.state, kernel, patches, fixes, seed)
    by_name = {op.name: op for op in ops(st)}
    missing = [name for name in case.ops if name not in by_name]
    if missing:
        raise ValueError(f"state {case.state} has no operation {missing[0]!r}")
    return st.s, {f"{label}: {name}": by_name[name].run
                  for label, name in zip(LABELS, case.ops, strict=False)}


__all__ = ["LABELS", "Case", "build", "cases"]
