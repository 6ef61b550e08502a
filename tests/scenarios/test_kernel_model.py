"""The scenario API drives the kernel model: a Kernel as state, threads spawned into
``k.execution`` with a ``Current`` ctx, kernel trace events in the finding traces."""

from __future__ import annotations

from swaplab.explore import run_to_completion
from swaplab.explore.explorer import explore
from swaplab.explore.model import Instance, at_end, sometimes
from swaplab.explore.search import Options
from swaplab.kernel import swapfile
from swaplab.kernel.config import make_config
from swaplab.kernel.kernel import Kernel
from swaplab.kernel.sync import Current
from swaplab.scenarios import new_instance


def build_dup_vs_free() -> Instance:
    """swap_duplicate() of a swap-cache-only entry against swapcache_free() of it [31]."""
    k = Kernel(make_config("2.6.31"), 64 << 20)
    swapfile.sys_swapon(k, 16)
    got: list[int] = []

    async def setup() -> None:
        got.append(await swapfile.get_swap_page(k))

    k.execution.spawn("setup", setup())
    run_to_completion(k.execution)  # the setup runs sequentially, before the threads
    entry = got[0]
    si = k.swap_info[0]
    offset = swapfile.swp_offset(entry)
    results: dict[str, int] = {}

    async def dup() -> None:
        results["dup"] = await swapfile.swap_duplicate(k, entry)

    async def free() -> None:
        await swapfile.swapcache_free(k, entry, None)

    def consistent(_: Kernel) -> bool:
        return swapfile.swap_count(si.swap_map[offset]) == (1 if results["dup"] == 0 else 0)

    return new_instance(
        k,
        [("dup", dup(), Current(None, 0)), ("free", free(), Current(None, 1))],
        [at_end("count-matches-dup", consistent),
         sometimes("dup-first", lambda _: results.get("dup") == 0),
         sometimes("dup-too-late", lambda _: results.get("dup", 0) != 0)],
        execution=k.execution)


def test_both_orders_of_swap_lock_are_explored_and_the_counts_agree() -> None:
    dpor = explore(build_dup_vs_free, Options(strategy="dpor"))
    dfs = explore(build_dup_vs_free, Options(strategy="dfs"))
    # clean: the counts agree, and both sometimes-properties (each order) were reached
    assert dpor.status == dfs.status == "clean"
    assert 2 <= dpor.stats.executions < dfs.stats.executions


def test_kernel_trace_events_appear_in_a_finding() -> None:
    def model() -> Instance:
        instance = build_dup_vs_free()
        instance.properties = [at_end("dup-never-fails", lambda _: False)]
        return instance

    result = explore(model, Options(strategy="dpor"))
    [finding] = result.findings
    functions = [e.function for e in finding.trace]
    assert "start" in functions
    assert any(f.endswith("()") for f in functions)  # events logged by the kernel's trace()
