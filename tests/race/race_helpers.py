"""Prepared machines for the race API's tests."""

from __future__ import annotations

from dataclasses import dataclass

from swaplab import System
from swaplab.system import Mapping, Task


@dataclass(frozen=True)
class Type1State:
    """A in /A with one page swapped out next to B's: B's swap-in fault reads A's slot
    ahead (page-cluster 3) while A may exit: the cover letter's Type-1."""

    s: System
    a: Task
    b: Task
    mb: Mapping


def type1_state(kernel: str, page_cluster: int = 3) -> Type1State:
    s = System(kernel=kernel, ram="2M", swap="256K", page_cluster=page_cluster)
    s.mkdir("/A")
    s.write("/A/memory.limit_in_bytes", "64K")
    a, b = s.spawn("/A"), s.spawn("/A")
    ma, mb = a.mmap_anon("4K"), b.mmap_anon("4K")
    a.touch(ma)
    b.touch(mb)
    filler = s.spawn("/A")  # pushes A's and B's pages out to adjacent slots
    filler.touch(filler.mmap_anon("64K"))
    filler.exit()
    return Type1State(s, a, b, mb)
