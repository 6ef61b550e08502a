"""The state a trace page shows after each step, as small JSON-able tables.

A table is ``{"title", "columns", "rows"}``; each row is a list of strings whose first cell
is the row's key (a slot, a page, a memcg), so that the page can tell what changed from one
step to the next cell by cell. :func:`snapshot` reads a kernel scenario's machine (the
``Kernel`` of its state, as ``kernel/invariants.py`` reads it): the swap_map of every area,
the swap cache (swapper_space), every allocated page with its flags, counts and
page_cgroup, every memcg's res/memsw counters and swap_cgroup records, and the tasks' ptes.
Any other state (the engine's tiny models) is shown field by field.

Reading only: nothing here takes a lock or records a read (the page is built outside the
run's steps, from a driver's hook).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from swaplab.explore.ops import Lock
from swaplab.kernel import invariants
from swaplab.kernel.kernel import Kernel
from swaplab.kernel.memcontrol import MemCgroup
from swaplab.kernel.mm_types import PAGE_SIZE, AnonVma, Page
from swaplab.kernel.page_cgroup import PCG_CACHE, PCG_USED
from swaplab.kernel.page_flags import (
    PG_active,
    PG_dirty,
    PG_error,
    PG_lru,
    PG_mlocked,
    PG_reclaim,
    PG_referenced,
    PG_swapbacked,
    PG_swapcache,
    PG_unevictable,
    PG_uptodate,
    PG_writeback,
)
from swaplab.kernel.swapfile import (
    SWP_USED,
    swap_count,
    swap_has_cache,
    swp_entry,
)

Table = dict[str, Any]

#: page->flags bits by their include/linux/page-flags.h names (PG_locked is page.lock)
_FLAGS = (("uptodate", PG_uptodate), ("dirty", PG_dirty), ("lru", PG_lru),
          ("active", PG_active), ("referenced", PG_referenced), ("swapcache", PG_swapcache),
          ("swapbacked", PG_swapbacked), ("writeback", PG_writeback), ("reclaim", PG_reclaim),
          ("error", PG_error), ("unevictable", PG_unevictable), ("mlocked", PG_mlocked))

#: how deep :func:`generic_tables` follows fields into a state that is no kernel
_DEPTH = 4


def snapshot(state: Any) -> list[Table]:
    """The tables of ``state``: a kernel's (``state`` or its ``k``), else its fields."""
    k = state if isinstance(state, Kernel) else getattr(state, "k", None)
    if isinstance(k, Kernel):
        return kernel_tables(k)
    return generic_tables(state)


def kernel_tables(k: Kernel) -> list[Table]:
    return [swap_map_table(k), swap_cache_table(k), pages_table(k), memcg_table(k),
            ptes_table(k)]


def _table(title: str, columns: list[str], rows: list[list[str]]) -> Table:
    return {"title": title, "columns": columns, "rows": rows}


def _memcg_name(k: Kernel, css_id: int) -> str:
    mem = k.css_ids.get(css_id)
    return f"{mem.cgroup.path or '/'} (id {css_id})" if mem is not None else f"id {css_id}"


def _decoded(k: Kernel, value: int) -> str:
    """What a swap_map value says: [31] a count and the SWAP_HAS_CACHE bit; [30] one count
    with the swap cache's reference in it."""
    if not k.cfg.swap_has_cache:
        return f"count {value}"
    cache = " | SWAP_HAS_CACHE" if swap_has_cache(value) else ""
    return f"count {swap_count(value)}{cache}"


def swap_map_table(k: Kernel) -> Table:
    """mm/swapfile.c's swap_map: each slot in use, or cached, or recorded for a memcg."""
    users = invariants.swap_users(k)
    cache = k.swapper_space.page_tree
    rows = []
    for si in k.swap_info:
        if not si.flags & SWP_USED:
            continue
        for offset in range(1, len(si.swap_map)):
            value, entry = si.swap_map[offset], swp_entry(si.type, offset)
            record = k.swap_cgroup.get((si.type, offset), 0)
            if not value and not record and entry not in cache:
                continue
            page = cache.get(entry)
            rows.append([f"{entry:#x}", f"{value:#x}", _decoded(k, value),
                         str(users.get(entry, 0)), repr(page) if page is not None else "",
                         _memcg_name(k, record) if record else ""])
    return _table("swap_map", ["slot", "swap_map", "means", "pte/shmem refs", "swap cache",
                               "swap_cgroup record"], rows)


def swap_cache_table(k: Kernel) -> Table:
    """swapper_space: the pages of the swap cache by entry, and its nrpages."""
    space = k.swapper_space
    rows = [[f"{entry:#x}", repr(page), f"{page.private:#x}"]
            for entry, page in sorted(space.page_tree.items())]
    rows.append(["nrpages", str(space.nrpages), ""])
    return _table("swap cache (swapper_space)", ["entry", "page", "page->private"], rows)


def _page_flags(page: Page) -> str:
    names = ["locked"] if page.lock.holder is not None else []
    names.extend(name for name, bit in _FLAGS if page.flags & bit)
    return " ".join(names)


def _mapping(k: Kernel, page: Page) -> str:
    if isinstance(page.mapping, AnonVma):
        return "anon"
    if page.mapping is k.swapper_space:
        return "swapper_space"
    return "file" if page.mapping is not None else ""


def _page_cgroup(page: Page) -> str:
    pc = page.page_cgroup
    flags = [name for name, bit in (("USED", PCG_USED), ("CACHE", PCG_CACHE))
             if pc.flags & bit]
    owner = repr(pc.mem_cgroup) if pc.mem_cgroup is not None else "-"
    return f"{' '.join(flags) or '!USED'} {owner}" + (" on lru" if pc.lru >= 0 else "")


def pages_table(k: Kernel) -> Table:
    """Every allocated page: flags, page_count, page_mapcount, the swap entry it caches,
    its page_cgroup (flags, owner memcg, whether it is on a memcg LRU)."""
    rows = []
    for page in [k.pages[pfn] for pfn in sorted(k.pages)]:
        private = f"{page.private:#x}" if page.flags & PG_swapcache else ""
        rows.append([repr(page), _page_flags(page), str(page._count),
                     str(page._mapcount + 1), _mapping(k, page), private, _page_cgroup(page)])
    return _table("pages", ["page", "flags", "count", "mapcount", "mapping", "private",
                            "page_cgroup"], rows)


def _pages(counter_bytes: int) -> str:
    return f"{counter_bytes // PAGE_SIZE} pages"


def memcg_table(k: Kernel) -> Table:
    """Every memcg still reachable: res and memsw usage, its references, its swap
    records (the slots swap_cgroup charges to it)."""
    rows = []
    for mem in invariants.all_memcgs(k):
        records = [f"{swp_entry(t, o):#x}" for (t, o), css in sorted(k.swap_cgroup.items())
                   if css == mem.css_id]
        rows.append([_memcg_label(mem), _pages(mem.res.usage), _pages(mem.memsw.usage),
                     str(mem.refcnt), str(mem.css_refcnt), " ".join(records) or "-"])
    return _table("memcgs", ["memcg", "res.usage", "memsw.usage", "refcnt", "css_refcnt",
                             "swap records"], rows)


def _memcg_label(mem: MemCgroup) -> str:
    state = " (freed)" if mem.freed else " (removed)" if mem.cgroup.removed else ""
    return f"{mem.cgroup.path or '/'}{state}"


def ptes_table(k: Kernel) -> Table:
    """Each task's ptes: the page a pte maps, or the swap entry a swap pte holds."""
    rows = []
    for pid, task in sorted(k.tasks.items()):
        if task.mm is None:
            continue
        for vpn, pte in sorted(task.mm.ptes.items()):
            what = repr(pte.page) if pte.page is not None else (
                f"swap entry {pte.swp:#x}" if pte.swp else "none")
            rows.append([f"{task.comm} (pid {pid}) {vpn * PAGE_SIZE:#x}", what])
    return _table("ptes", ["task, address", "maps"], rows)


def generic_tables(state: Any) -> list[Table]:
    """A state that is no kernel, field by field (dataclasses, slots, lists, dicts, locks);
    no table for a model without state."""
    if state is None:
        return []
    rows: list[list[str]] = []
    _walk(state, "state", rows, _DEPTH)
    return [_table("state", ["field", "value"], rows)]


def _fields(obj: Any) -> list[tuple[str, Any]]:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return [(f.name, getattr(obj, f.name)) for f in dataclasses.fields(obj)]
    if isinstance(obj, list | tuple):
        return [(f"[{i}]", v) for i, v in enumerate(obj)]
    if isinstance(obj, dict):
        return [(f"[{key!r}]", v) for key, v in obj.items()]
    return []


def _walk(obj: Any, path: str, rows: list[list[str]], depth: int) -> None:
    if isinstance(obj, Lock):
        holder = obj.holder
        rows.append([path, f"lock {obj.name}: " + ("free" if holder is None
                                                    else f"held by thread {holder}")])
        return
    fields = _fields(obj) if depth > 0 else []
    if not fields:
        rows.append([path, repr(obj)])
        return
    for name, value in fields:
        _walk(value, f"{path}.{name}" if not name.startswith("[") else path + name, rows,
              depth - 1)
