"""kernel/cgroup.c (2.6.30, 2.6.31): the cgroup tree of the memory controller's mount.

Abstractions: one hierarchy with only the memory subsystem mounted; css ids are handed out
by a counter (css_id(), kernel/cgroup.c: alloc_css_id()) and never reused within a run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from swaplab.kernel.memcontrol import MemCgroup
    from swaplab.kernel.mm_types import TaskStruct


class Cgroup:
    """struct cgroup: a directory of the mount, its tasks and its memory css."""

    __slots__ = ("children", "memcg", "name", "parent", "removed", "tasks")

    def __init__(self, name: str, parent: Cgroup | None) -> None:
        self.name = name
        self.parent = parent
        self.children: dict[str, Cgroup] = {}
        self.tasks: list[TaskStruct] = []
        self.memcg: MemCgroup | None = None
        self.removed = False

    @property
    def path(self) -> str:
        if self.parent is None:
            return "/"
        parent = self.parent.path
        return f"{parent.rstrip('/')}/{self.name}"

    def __repr__(self) -> str:
        return f"Cgroup({self.path!r})"
