"""mm/swapfile.c (2.6.30, 2.6.31): swap areas and swap_map."""

from __future__ import annotations


class SwapInfoStruct:
    """struct swap_info_struct, reduced to what the slot allocator reads."""

    __slots__ = (
        "cluster_next",
        "cluster_nr",
        "flags",
        "highest_bit",
        "inuse_pages",
        "lowest_bit",
        "max",
        "next",
        "pages",
        "prio",
        "swap_map",
        "type",
    )

    def __init__(self, type: int, max: int, prio: int) -> None:
        self.type = type
        self.flags = 0
        self.prio = prio
        self.next = -1
        self.max = max
        self.pages = max - 1
        self.swap_map: list[int] = [0] * max
        self.lowest_bit = 1
        self.highest_bit = max - 1
        self.cluster_next = 1
        self.cluster_nr = 0
        self.inuse_pages = 0
