"""The kernel structures threads share, for the lockset check of the model
(:mod:`swaplab.explore.lockset`): every attribute write to one of them inside a step must be
under a lock held at every such write, or declared to the explorer by the step."""

from __future__ import annotations

from swaplab.kernel.cgroup import Cgroup
from swaplab.kernel.kernel import Kernel
from swaplab.kernel.memcontrol import MemCgroup
from swaplab.kernel.mm_types import (
    AddressSpace,
    AnonVma,
    MmStruct,
    Page,
    Pte,
    TaskStruct,
    VmAreaStruct,
)
from swaplab.kernel.mmzone import Zone
from swaplab.kernel.page_cgroup import PageCgroup
from swaplab.kernel.res_counter import ResCounter
from swaplab.kernel.shmem import ShmemInode
from swaplab.kernel.swapfile import SwapInfoStruct

SHARED_STRUCTS: tuple[type, ...] = (
    Kernel, Zone, Page, PageCgroup, AddressSpace, AnonVma, VmAreaStruct, MmStruct, Pte,
    TaskStruct, Cgroup, MemCgroup, ResCounter, SwapInfoStruct, ShmemInode,
)
