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


def test_munmap_and_a_fault_of_one_mm_never_overlap() -> None:
    """sys_munmap() holds mmap_sem for write, the fault for read: in every schedule dfs
    runs, one ends before the other starts (the fault finds its page or SIGSEGV), and the
    window where a zap beats the fault's charge is never entered."""
    from swaplab.explore.explorer import explore
    from swaplab.explore.model import always
    from swaplab.explore.search import Options
    from swaplab.scenarios import ScenarioOptions, get_scenario

    model = get_scenario("swapin-vs-munmap").model(ScenarioOptions("2.6.30"))

    def checked():  # type: ignore[no-untyped-def]
        instance = model()
        w = instance.state
        [mm] = [t.mm for t in w.k.tasks.values() if t.comm == "B"]
        sem = mm.mmap_sem
        instance.properties = [*instance.properties, always(
            "mmap_sem-excludes", lambda w: not (sem.readers and sem.writer is not None))]
        return instance

    result = explore(checked, Options(strategy="dfs", shrink=False))
    assert result.status == "clean" and result.stats.executions > 10
    assert result.vacuous == ["fault-lost-to-zap"]
    assert result.findings == [] and result.notes == []


def test_madvise_dontneed_races_the_fault_within_one_mm() -> None:
    """madvise(MADV_DONTNEED) holds mmap_sem for read, as the fault does: the zap can land
    between the fault's charge and its commit (2.6.30 leaks the record)."""
    from swaplab.explore.explorer import explore
    from swaplab.explore.search import Options
    from swaplab.scenarios import ScenarioOptions, get_scenario

    result = explore(get_scenario("swapin-vs-zap").model(ScenarioOptions("2.6.30")),
                     Options(strategy="dpor", shrink=False))
    assert result.status == "found"
    assert "memcg-accounting" in {f.property for f in result.findings}
