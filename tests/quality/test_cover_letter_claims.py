"""`swaplab claims --json`: a row per claim with claim, verdict, command, evidence; the
verdicts the model gives today (a change is a result to look at, not noise)."""

from __future__ import annotations

import contextlib
import io
import json
import shlex
from typing import Any

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


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    """`swaplab claims --json --explore-only`'s rows (decided once for this module)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["claims", "--json", "--explore-only"]) == 0
    decided: list[dict[str, Any]] = json.loads(out.getvalue())
    return decided


def test_claims_json_rows(rows: list[dict[str, Any]]) -> None:
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
    assert fixed.command() == check.command().replace(" --property",
                                                      " --fixes 4969c1192d15 --property")
    assert with_fixes(check, ()) is check


def test_a_bounded_check_says_its_search_and_bound() -> None:
    from swaplab.claims import Check

    check = Check("swapin-aba", "data-integrity", False, "2.6.31", strategy="dfs-cached",
                  bound=1)
    assert check.command() == ("swaplab check swapin-aba --kernel 2.6.31 --strategy dfs-cached "
                               "--preemption-bound 1 --property data-integrity --jobs 1")
    first = Check("swapin-aba", "data-integrity", True, "2.6.31", strategy="dfs-cached",
                  bound=1, first=True)
    assert first.command().endswith(" --preemption-bound 1 --first --property data-integrity "
                                    "--jobs 1")
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
    from swaplab.claims import CLAIMS, _by_cost, _exploration, _units
    from swaplab.workload.claims import GROWTH_CLAIMS

    items = [("explore", c.claim, ()) for c in CLAIMS if c.checks]
    items += [("growth", name, ()) for name in GROWTH_CLAIMS]
    units = [unit for item in items for unit in _units(item)]
    ordered = _by_cost(units)
    # rows 1 and 11 share checks; rows 10 and 11 one exploration that 11 expects to find
    explorations = set(map(_exploration, units))
    assert len(ordered) == len(explorations) < len(set(units)) < len(units)
    assert all(not u[1].expect or u[1].first for u in ordered if u[0] == "check")
    sims = [unit[1] for unit in ordered if unit[0] == "sim"]
    assert [unit[1] for unit in ordered[:len(sims)]] == sims  # the simulations first
    assert [s.cost for s in sims] == sorted((s.cost for s in sims), reverse=True)
    assert sims[0].workload == "move-and-rmdir" and sims[0].cpus == 2


def test_each_checks_command_alone_gives_its_evidence(
        rows: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]) -> None:
    """Every check a row lists names a `swaplab check` command that, run by itself, finds
    or clears the same property in as many executions. (Run here with --json to read it,
    and --no-shrink: shrinking a finding changes the schedule shown, not the search.)"""
    alone: dict[str, dict[str, Any]] = {}
    for row in rows[:-1]:
        for check in row["evidence"]["checks"]:
            command = check["command"]
            if command not in alone:
                argv = shlex.split(command)
                assert argv[:2] == ["swaplab", "check"] and "--property" in argv
                main([*argv[1:], "--json", "--no-shrink"])
                alone[command] = json.loads(capsys.readouterr().out)
            out = alone[command]
            hits = [f for f in [*out["findings"], *out["notes"]]
                    if f["property"] == check["property"]]
            complete = out["statistics"]["complete"]
            if "--preemption-bound" in command:  # within the bound, as claims counts it
                complete = not out.get("stopped") and out["statistics"]["cut"] == 0
            result = "found" if hits else ("clean" if complete else "incomplete")
            assert (result, out["statistics"]["executions"]) == (
                check["result"], check["executions"]), command
    assert len(alone) >= 20


def test_claims_tell_the_checks_they_run(monkeypatch: pytest.MonkeyPatch) -> None:
    from swaplab import claims
    from swaplab.cache import ResultCache

    cheap = [c for c in claims.CLAIMS if "page-cluster" in c.claim]
    monkeypatch.setattr(claims, "CLAIMS", (*cheap, claims.CLAIMS[0]))
    cache = ResultCache("claims-progress")
    cache.put(repr(("explore", claims.CLAIMS[1].claim, ())), {"claim": "x", "verdict": "holds"})
    heard: list[tuple[int, int]] = []
    rows = claims.all_claims(growth=False, jobs=1, cache=cache,
                             progress=lambda done, total: heard.append((done, total)))
    n = len(cheap[0].checks)  # the cached row's checks are not counted
    assert n >= 1 and heard == [(i, n) for i in range(n + 1)]
    assert [r.get("cached") for r in rows[:2]] == [False, True]
