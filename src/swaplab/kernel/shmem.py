"""mm/shmem.c and ipc/shm.c (2.6.30, 2.6.31): shmem inodes (shared /dev/zero, SysV shm)."""

from __future__ import annotations

from swaplab.kernel.mm_types import AddressSpace


class ShmemInode:
    """struct shmem_inode_info with its inode: a swap-backed page cache (``mapping``), the
    swap entries of swapped-out indices (``i_swap``), size in pages, and VM_LOCKED
    (SHM_LOCK)."""

    __slots__ = ("flags", "i_swap", "mapping", "size_pages")

    def __init__(self, name: str, size_pages: int) -> None:
        self.mapping = AddressSpace(name, swap_backed=True, host=self)
        self.i_swap: dict[int, int] = {}
        self.size_pages = size_pages
        self.flags = 0
