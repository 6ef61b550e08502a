"""lib/radix-tree.c (2.6.30, 2.6.31): the per-CPU pool of preloaded radix-tree nodes.

The model's radix trees are dicts, so it has no nodes: what it keeps of the pool is, per
CPU, whether the pool is known to be full (``k.radix_tree_preloads``; empty at boot).
radix_tree_preload() fills it with kmem_cache_alloc(), which with __GFP_WAIT may sleep
(the slab may need a page, the page allocator may enter reclaim): a sleep point of the CPU
model (sync.may_sleep), taken only while the pool is not full. An insertion into a tree
whose own mask cannot sleep (the swap cache's is GFP_ATOMIC) takes its new nodes from the
pool first (radix_tree_node_alloc()); the model cannot tell whether it needed one, so
after an insertion into the swap cache the pool is no longer known full.

Left out: the pool's size and the nodes themselves; allocation failure (-ENOMEM: the
model's slab never fails); insertions into the page cache's trees (they do not touch the
state the swap paths read); preempt_disable()/preempt_enable() (radix_tree_preload()
returns with preemption off: on a non-preemptive kernel that changes nothing unless the
thread sleeps, which the callers do not do before radix_tree_preload_end()).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from swaplab.kernel.gfp import __GFP_WAIT
from swaplab.kernel.sync import current, may_sleep

if TYPE_CHECKING:
    from swaplab.kernel.kernel import Kernel


async def radix_tree_preload(k: Kernel, gfp: int) -> int:
    """lib/radix-tree.c: radix_tree_preload(): fill this CPU's pool, sleeping if ``gfp``
    allows it and the pool is not full. 0 (never -ENOMEM in the model)."""
    cpu = current(k).cpu
    if not k.radix_tree_preloads.get(cpu, False):  # rtp->nr < ARRAY_SIZE(rtp->nodes)
        if gfp & __GFP_WAIT:
            await may_sleep(k, "radix_tree_preload", f"kmem_cache_alloc() may sleep (CPU {cpu})")
        k.radix_tree_preloads[cpu] = True
    return 0


def radix_tree_preload_end(k: Kernel) -> None:
    """include/linux/radix-tree.h: radix_tree_preload_end(): preempt_enable() (nothing to
    do on a non-preemptive kernel)."""


def radix_tree_node_alloc(k: Kernel) -> None:
    """lib/radix-tree.c: radix_tree_node_alloc() for a tree that cannot sleep: nodes come
    from this CPU's pool, which is then no longer known full."""
    k.radix_tree_preloads[current(k).cpu] = False
