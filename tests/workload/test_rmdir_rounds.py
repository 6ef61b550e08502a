"""Nishimura's result on move-and-rmdir (rounds: a new 512K group every 0.4 s with three
fresh 256K tasks; the group two rounds old has its tasks killed while the younger ones
fault, then it is removed), from the simulator's own metrics, seed 1, 2 CPUs, 4 s of
virtual time (eight rmdirs, each followed by a "round" sample).

What is asserted, exactly:
- 2.6.30, page-cluster 3: ``unfreed_memcgs`` at the round samples never decreases and
  ends at 2 or more; at the end every removed-but-unfreed mem_cgroup is held only by swap
  records (refcnt == its records) and every such record is on a slot nobody references
  (the swap cache's reference alone, the page unmapped and uncharged: a Type-1 orphan).
- 2.6.30, page-cluster 0: ``unfreed_memcgs`` is 0 at every round sample.
- 2.6.31: ``unfreed_memcgs`` is 0 at every round sample, although orphan swap-cache pages
  are left (4/5 releases the record, not the page).
"""

from __future__ import annotations

import itertools

import pytest

from swaplab.kernel import invariants
from swaplab.kernel.page_cgroup import lookup_swap_cgroup
from swaplab.kernel.swapfile import swp_entry, swp_offset, swp_type
from swaplab.workload import BUILTINS
from swaplab.workload.claims import GrowthVerdict, type1_memcg_unfreeable
from swaplab.workload.sim import Result, Simulation
from swaplab.workload.spec import load_workload

SEED = 1
SECONDS = 4.0


@pytest.fixture(scope="module")
def verdict() -> GrowthVerdict:
    return type1_memcg_unfreeable(seed=SEED, seconds=SECONDS)


def test_the_builtin_runs_rounds_of_kill_and_rmdir() -> None:
    wl = BUILTINS["move-and-rmdir"]
    (mover,) = wl.movers
    assert (mover.kill, mover.keep, mover.every_ns) == (True, 2, 400_000_000)
    assert not wl.tasks[0].restart


def test_2630_pc3_removed_memcgs_pile_up_held_only_by_unreferenced_records() -> None:
    sim = Simulation(BUILTINS["move-and-rmdir"], "2.6.30", seed=SEED, cpus=2,
                     duration_ns=int(SECONDS * 1e9), page_cluster=3)
    r: Result = sim.run()
    assert r.error is None and r.invariant_violations == []
    unfreed = r.values_at("unfreed_memcgs", "round")
    assert len(unfreed) >= 5 and r.counters["rmdir_failures"] == 0
    assert all(b >= a for a, b in itertools.pairwise(unfreed))
    assert unfreed[-1] >= 2
    k = sim.k
    leaked = [m for m in invariants.all_memcgs(k) if m.obsolete and not m.freed]
    assert len(leaked) == r.series["unfreed_memcgs"][-1] >= 2
    for mem in leaked:
        slots = [key for key, cid in k.swap_cgroup.items() if cid == mem.css_id]
        assert slots and mem.refcnt == len(slots)
        for type_, offset in slots:
            ent = swp_entry(type_, offset)
            assert (swp_type(ent), swp_offset(ent)) == (type_, offset)
            assert lookup_swap_cgroup(k, ent) == mem.css_id
            assert k.swap_info[type_].swap_map[offset] == 1  # the swap cache's alone
            assert ent in k.swapper_space.page_tree
    # ... and each of those slots' page is an orphan: unmapped, no pte, not charged
    orphans = {p.private for p in invariants.orphan_swap_cache_pages(k)}
    held = [swp_entry(t, o) for m in leaked for (t, o), cid in k.swap_cgroup.items()
            if cid == m.css_id]
    assert all(ent in orphans for ent in held)


def test_type1_memcg_claim_holds(verdict: GrowthVerdict) -> None:
    assert verdict.verdict == "holds"
    assert verdict.command.startswith("swaplab simulate move-and-rmdir --compare "
                                      "2.6.30,2.6.31 --cpus 2 --seed 1")


def test_page_cluster_0_leaves_no_unfreed_memcg(verdict: GrowthVerdict) -> None:
    u0 = verdict.data["unfreed"]["2.6.30 pc=0"]
    assert len(u0) >= 5 and u0 == [0] * len(u0)


def test_2631_frees_every_removed_memcg_though_orphans_remain(verdict: GrowthVerdict) -> None:
    u31 = verdict.data["unfreed"]["2.6.31 pc=3"]
    assert len(u31) >= 5 and u31 == [0] * len(u31)
    assert verdict.data["orphans"]["2.6.31 pc=3"][-1] > 0


def test_toml_mover_kill_and_keep(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "rounds.toml"
    path.write_text('[[group]]\npath = "/A"\nlimit = "512K"\n'
                    '[[tasks]]\ngroup = "/A"\nrestart = false\n'
                    '[[mover]]\ngroup = "/A"\nevery = "400ms"\nkill = true\nkeep = 3\n')
    (mover,) = load_workload(str(path)).movers
    assert (mover.kill, mover.keep, mover.every_ns) == (True, 3, 400_000_000)
