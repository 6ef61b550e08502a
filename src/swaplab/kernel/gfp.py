"""include/linux/gfp.h: the allocation flags the model reads.

Only the bits that change behaviour here: may the caller sleep and reclaim (__GFP_WAIT), start
I/O (__GFP_IO) or enter a filesystem (__GFP_FS), and may it dip into reserves (__GFP_HIGH).
"""

__GFP_WAIT = 0x10
__GFP_HIGH = 0x20
__GFP_IO = 0x40
__GFP_FS = 0x80
__GFP_NOWARN = 0x200
__GFP_NOMEMALLOC = 0x10000
__GFP_HIGHMEM = 0x02
__GFP_MOVABLE = 0x08

GFP_NOWAIT = 0
GFP_ATOMIC = __GFP_HIGH
GFP_NOIO = __GFP_WAIT
GFP_KERNEL = __GFP_WAIT | __GFP_IO | __GFP_FS
GFP_USER = GFP_KERNEL
GFP_HIGHUSER = GFP_KERNEL | __GFP_HIGHMEM
GFP_HIGHUSER_MOVABLE = GFP_HIGHUSER | __GFP_MOVABLE

#: mm/internal.h: GFP_RECLAIM_MASK (the bits of this file that reclaim and charging honour)
GFP_RECLAIM_MASK = __GFP_WAIT | __GFP_HIGH | __GFP_IO | __GFP_FS | __GFP_NOWARN | __GFP_NOMEMALLOC
