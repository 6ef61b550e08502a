"""Kernel versions and the patches of "memcg: fix swap account" as switches.

One code base models both kernels. Differences that come from the series are switches named
after the patch that introduced them; code tests them exactly where the patch changed the C
(``if k.cfg.swap_has_cache:``). Differences between 2.6.30 and 2.6.31 that have nothing to do
with the series (res_counter accepting "-1", ``memsw_is_minimum``, where the memcg LRU unlink
happens, ...) follow ``base``.

Presets: ``2.6.30`` (no patch), ``rfc-2009-05-26`` (2.6.30 plus the RFC's five patches) and
``2.6.31`` (as merged: 1/5, 2/5, 4/5 and "mm: reuse unused swap entry if necessary").

Later fixes (:data:`FIXES`, by their 12-hex commit id) go on top of any preset
(``make_config(kernel, fixes="4969c1192d15")``); code tests them where the commit changed
the C (``if k.cfg.has_fix(SWAPIN_RACE):``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

#: Patch switches, in series order, with the short names the CLI accepts.
PATCHES: dict[str, str] = {
    "1": "swapcache_interface",  # 1/5 swapcache_prepare()/swapcache_free()
    "2": "swap_has_cache",  # 2/5 SWAP_HAS_CACHE in swap_map
    "3": "count_cache_only",  # 3/5 count cache-only swap slots (RFC only, dropped)
    "4": "memcg_swap_refcount",  # 4/5 memcg swap accounting by reference count
    "5": "cache_only_gc",  # 5/5 RFC garbage collection of cache-only slots (dropped)
    "reuse": "reuse_cache_only",  # merged: scan_swap_map reuses cache-only slots
}

#: What each patch needs underneath it.
REQUIRES: dict[str, tuple[str, ...]] = {
    "swapcache_interface": (),
    "swap_has_cache": ("swapcache_interface",),
    "count_cache_only": ("swap_has_cache",),
    "memcg_swap_refcount": ("swap_has_cache",),
    "cache_only_gc": ("count_cache_only",),
    "reuse_cache_only": ("swap_has_cache",),
}

BASES = ("2.6.30", "2.6.31")

#: mm: fix swapin race condition (2.6.36-rc4): do_swap_page() gives up, after lock_page(),
#: on a page that left the swap cache meanwhile.
SWAPIN_RACE = "4969c1192d15"
#: mm: further fix swapin race condition (2.6.36-rc5): ... or that is in the swap cache for
#: another entry (page_private() != entry.val).
SWAPIN_RACE_FURTHER = "31c4a3d3a0f8"
#: swap: avoid read_swap_cache_async() race to deadlock while waiting on discard I/O
#: completion (3.10, Cc stable): cond_resched() before retrying swapcache_prepare()'s -EEXIST.
DISCARD_RACE = "cbab0e4eec29"

#: mm: add_to_swap_cache() must not sleep (2.6.32-rc1): read_swap_cache_async() preloads
#: the radix tree before swapcache_prepare() and inserts with __add_to_swap_cache().
PRELOAD_BEFORE_PREPARE = "31a5639623a4"

#: memcg: ensure list is empty at rmdir (2.6.33-rc5, Cc stable): mem_cgroup_force_empty()
#: walks the LRU lists at least once and again while a walk fails, and its try_to_free path
#: always goes back to move_account, so no uncharged page is left on a removed group's LRU.
RMDIR_LRU_EMPTY = "fce66477578d"

#: Fixes made after 2.6.31 to the code the model has, by commit id, with their titles.
FIXES: dict[str, str] = {
    PRELOAD_BEFORE_PREPARE: "mm: add_to_swap_cache() must not sleep",
    SWAPIN_RACE: "mm: fix swapin race condition",
    SWAPIN_RACE_FURTHER: "mm: further fix swapin race condition",
    DISCARD_RACE: "swap: avoid read_swap_cache_async() race to deadlock while waiting on "
                  "discard I/O completion",
    RMDIR_LRU_EMPTY: "memcg: ensure list is empty at rmdir",
}


class ConfigError(ValueError):
    """An unknown version, an unknown patch, or a patch set that misses a dependency."""


@dataclass(frozen=True, slots=True)
class KernelConfig:
    """Which kernel a run models. ``base`` decides everything the series did not touch."""

    base: str = "2.6.31"
    swapcache_interface: bool = True
    swap_has_cache: bool = True
    count_cache_only: bool = False
    memcg_swap_refcount: bool = True
    cache_only_gc: bool = False
    reuse_cache_only: bool = True
    #: 5/5: the GC runs while vm_swap_full() and more cache-only slots than this exist.
    cache_only_gc_threshold: int = 4096
    #: CONFIG_CGROUP_MEM_RES_CTLR_SWAP and no "noswapaccount" on the command line.
    do_swap_account: bool = True
    #: later fixes applied (commit ids of :data:`FIXES`, sorted)
    fixes: tuple[str, ...] = ()

    def has_fix(self, commit: str) -> bool:
        """Whether the fix ``commit`` (a key of :data:`FIXES`) is applied."""
        return commit in self.fixes

    @property
    def v31(self) -> bool:
        """2.6.31 behaviour for the changes that are not part of the series."""
        return self.base == "2.6.31"

    @property
    def name(self) -> str:
        """The preset's name (or the base and its patches), then ``+fix:ID`` per fix."""
        fixes = "".join(f"+fix:{commit}" for commit in self.fixes)
        plain = replace(self, fixes=())
        for preset, cfg in PRESETS.items():
            if cfg == plain:
                return preset + fixes
        on = [short for short, attr in PATCHES.items() if getattr(self, attr)]
        return (f"{self.base}+{','.join(on)}" if on else self.base) + fixes

    def patches(self) -> list[str]:
        """The short names of the patches that are on, in series order."""
        return [short for short, attr in PATCHES.items() if getattr(self, attr)]

    def check(self) -> None:
        """Raise :class:`ConfigError` when a patch is on without what it needs."""
        if self.base not in BASES:
            raise ConfigError(f"unknown kernel base {self.base!r} (choose {', '.join(BASES)})")
        for attr, needs in REQUIRES.items():
            if not getattr(self, attr):
                continue
            for need in needs:
                if not getattr(self, need):
                    raise ConfigError(f"patch {_short(attr)} needs patch {_short(need)}")


def _short(attr: str) -> str:
    for short, name in PATCHES.items():
        if name == attr:
            return "reuse" if short == "reuse" else f"{short}/5"
    return attr


_NONE: dict[str, Any] = {attr: False for attr in PATCHES.values()}

PRESETS: dict[str, KernelConfig] = {
    "2.6.30": KernelConfig(base="2.6.30", **_NONE),
    "rfc-2009-05-26": KernelConfig(
        base="2.6.30",
        **{**_NONE, "swapcache_interface": True, "swap_has_cache": True,
           "count_cache_only": True, "memcg_swap_refcount": True, "cache_only_gc": True},
    ),
    "2.6.31": KernelConfig(
        base="2.6.31",
        **{**_NONE, "swapcache_interface": True, "swap_has_cache": True,
           "memcg_swap_refcount": True, "reuse_cache_only": True},
    ),
}


def parse_fixes(fixes: str | None) -> tuple[str, ...]:
    """``ID[,ID]`` (12-hex commit ids of :data:`FIXES`) as a sorted tuple; a
    :class:`ConfigError` names an unknown one."""
    out: set[str] = set()
    for item in (f.strip().lower() for f in (fixes or "").split(",")):
        if not item:
            continue
        if item not in FIXES:
            raise ConfigError(f"unknown fix {item!r} (choose from {', '.join(FIXES)})")
        out.add(item)
    return tuple(sorted(out))


def make_config(kernel: str = "2.6.31", patches: str | None = None,
                fixes: str | None = None) -> KernelConfig:
    """The preset ``kernel``, or 2.6.30 plus ``patches`` (comma-separated: ``1,2,4,reuse``),
    with the later ``fixes`` (comma-separated commit ids) on top."""
    return replace(_patched(kernel, patches), fixes=parse_fixes(fixes))


def _patched(kernel: str, patches: str | None) -> KernelConfig:
    if kernel not in PRESETS:
        raise ConfigError(
            f"unknown kernel {kernel!r} (choose {', '.join(PRESETS)})"
        )
    if patches is None:
        return PRESETS[kernel]
    on = dict(_NONE)
    for item in (p.strip() for p in patches.split(",")):
        if not item:
            continue
        short = item.removesuffix("/5")
        if short not in PATCHES:
            raise ConfigError(
                f"unknown patch {item!r} (choose from {', '.join(PATCHES)})"
            )
        on[PATCHES[short]] = True
    cfg = replace(PRESETS["2.6.30"], **on)
    cfg.check()
    return cfg
