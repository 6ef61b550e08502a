"""`swaplab claims --json`: a row per claim with claim, verdict, command, evidence; the
verdicts the model gives today (a change is a result to look at, not noise)."""

from __future__ import annotations

import json

import pytest

from swaplab.cli import main

EXPECTED = [
    "holds",  # Type-1 exists in 2.6.30
    "partly",  # page-cluster 0: readahead variant gone, fault vs munmap remains
    "holds",  # Type-2 exists in 2.6.30
    "partly",  # 2/5: exact at rest, not in the add/delete windows
    "holds",  # 3/5's counter
    "holds",  # 4/5 fixes Type-1 accounting
    "holds",  # 4/5 alone leaves orphaned slots
    "holds",  # 5/5 reclaims them
    "holds",  # 2.6.31 clean of the accounting leaks
    "does not hold",  # the orphan page itself remains in 2.6.31
    "does not hold",  # swap_entry_free() == 0
    "holds",  # 31a5639623a4: soft lockup in 2.6.31, gone with the fix
    "holds",  # cbab0e4eec29: the same with swap discard
    "holds",  # 31c4a3d3a0f8: the swap-in ABA in 2.6.31 and with 4969c1192d15 alone, not after
]


def test_claims_json_rows(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["claims", "--json", "--explore-only"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == len(EXPECTED) + 1
    for row in rows:
        assert set(row) >= {"claim", "verdict", "command", "evidence"}
    assert [r["verdict"] for r in rows[:-1]] == EXPECTED
    assert rows[-1]["verdict"].startswith("not yet decided: needs the workload simulator")
    for row in rows[:-1]:
        ev = row["evidence"]
        assert ev["executions"] > 1 and ev["complete"]
        assert all(c["executions"] > 1 for c in ev["checks"])
    assert "== 1" in rows[10]["evidence"]["note"]
    aba = rows[13]["evidence"]
    assert [c["result"] for c in aba["checks"]] == ["found", "found", "clean"]
    assert {c["search"] for c in aba["checks"]} == {"dfs-cached within preemption bound 1"}


def test_claims_fixes_go_on_top_of_every_check() -> None:
    from swaplab.claims import CLAIMS, with_fixes

    check = CLAIMS[0].checks[0]
    fixed = with_fixes(check, ("4969c1192d15",))
    assert fixed.options().fixes == ("4969c1192d15",)
    assert fixed.command() == f"{check.command()} --fixes 4969c1192d15"
    assert with_fixes(check, ()) is check


def test_a_bounded_check_says_its_search_and_bound() -> None:
    from swaplab.claims import Check

    check = Check("swapin-aba", "data-integrity", False, "2.6.31", strategy="dfs-cached",
                  bound=1)
    assert check.command() == ("swaplab check swapin-aba --kernel 2.6.31 --strategy dfs-cached "
                               "--preemption-bound 1")
    assert check.search == "dfs-cached within preemption bound 1"


def test_claims_print_a_summary_first_and_the_checks_only_when_verbose() -> None:
    from swaplab.claims import render

    row = {"claim": "Type-2 (exit vs swap-out) exists in 2.6.30", "verdict": "holds",
           "command": "swaplab check type2 --kernel 2.6.30",
           "evidence": {"executions": 218, "complete": True, "note": "", "checks": [
               {"command": "swaplab check type2 --kernel 2.6.30", "property": "swap-slot-leak",
                "expected": "found", "result": "found", "executions": 218,
                "message": "slot 0x1 used but no task references it", "schedule": ""}]}}
    summary = render([row])
    assert summary.splitlines() == [
        " 1. holds           Type-2 (exit vs swap-out) exists in 2.6.30",
        "                    218 executions in 1 check (dpor, exhaustive)"]
    verbose = render([row], verbose=True)
    assert verbose.startswith(summary) and "swap-slot-leak on `swaplab check type2" in verbose
    assert "\x1b[32mholds" in render([row], colour=True) and "\x1b" not in summary


def test_claims_run_each_distinct_check_and_simulation_once_the_longest_first() -> None:
    from swaplab.claims import CLAIMS, _by_cost, _units
    from swaplab.workload.claims import GROWTH_CLAIMS

    items = [("explore", c.claim, ()) for c in CLAIMS if c.checks]
    items += [("growth", name, ()) for name in GROWTH_CLAIMS]
    units = [unit for item in items for unit in _units(item)]
    ordered = _by_cost(units)
    assert len(ordered) == len(set(units)) < len(units)  # rows 1, 10 and 11 share checks
    sims = [unit[1] for unit in ordered if unit[0] == "sim"]
    assert [unit[1] for unit in ordered[:len(sims)]] == sims  # the simulations first
    assert [s.cost for s in sims] == sorted((s.cost for s in sims), reverse=True)
    assert sims[0].workload == "move-and-rmdir" and sims[0].cpus == 2
