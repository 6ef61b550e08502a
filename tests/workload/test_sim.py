"""Simulations: the same seed gives the same run; the metrics and the JSON object."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from swaplab.workload import BUILTINS, simulate
from swaplab.workload.command import main
from swaplab.workload.metrics import GLOBAL_METRICS

SHORT = 1_000_000_000


def test_same_seed_same_metrics_and_other_seed_other_run() -> None:
    wl = BUILTINS["stale-swapcache-fast"]
    a = simulate(wl, "2.6.30", seed=7, duration_ns=SHORT)
    b = simulate(wl, "2.6.30", seed=7, duration_ns=SHORT)
    c = simulate(wl, "2.6.30", seed=8, duration_ns=SHORT)
    assert a.error is None and a.invariant_violations == []
    assert a.to_json()["series"] == b.to_json()["series"]
    assert a.steps == b.steps and a.counters == b.counters
    assert (c.steps, c.counters) != (a.steps, a.counters)


def test_metrics_are_sampled_over_virtual_time() -> None:
    wl = BUILTINS["stale-swapcache"]
    r = simulate(wl, "2.6.31", seed=1, duration_ns=SHORT)
    assert r.times[0] < 0.001
    assert r.times[-1] == pytest.approx(SHORT / 1e9, abs=0.01)
    assert len(r.times) == len(r.events) == len(r.series["swap_used_slots"])
    # three tasks of 1M under a 2M limit: the group sits at its limit and swaps
    assert max(v for v in r.groups["/A"]["usage"] if v is not None) <= 2 << 20
    assert max(r.series["swap_used_slots"]) > 200
    assert r.counters["swap_ios"] > 100


def test_mover_moves_tasks_and_removes_groups() -> None:
    wl = BUILTINS["move-only"]
    r = simulate(wl, "2.6.31", seed=1, duration_ns=3_200_000_000)
    assert r.error is None and r.invariant_violations == []
    assert r.counters["moves"] == 3
    assert list(r.groups) == ["/A", "/A-1", "/A-2", "/A-3"]
    assert r.groups["/A"]["usage"][-1] is None  # removed
    assert r.groups["/A-3"]["usage"][-1] is not None


def test_json_object_has_the_issue_s_keys(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stale-swapcache", "--kernel", "2.6.30", "--duration", "1s", "--seed", "3",
                 "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    for key in ("workload", "kernel", "patches", "seed", "duration_s", "summary", "series"):
        assert key in obj
    assert (obj["workload"], obj["kernel"], obj["patches"], obj["seed"], obj["duration_s"]) \
        == ("stale-swapcache", "2.6.30", [], 3, 1.0)
    for name in GLOBAL_METRICS:
        assert set(obj["summary"][name]) == {"final", "max"}
        assert obj["summary"][name]["final"] == obj["series"][name][-1]
        assert obj["summary"][name]["max"] == max(obj["series"][name])
    assert set(obj["series"]["usage"]) == {"/A"}
    assert set(obj["series"]["memsw_usage"]) == {"/A"}


BAD = {
    "syntax.toml": "name = \n",
    "key.toml": "[machine]\nram = \"8M\"\nbogus = 1\n",
    "group.toml": "[[tasks]]\ngroup = \"/B\"\n",
    "size.toml": "[[group]]\npath = \"/A\"\nlimit = \"2Q\"\n[[tasks]]\ngroup = \"/A\"\n",
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_toml_exits_2_with_one_line(name: str, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / name
    path.write_text(BAD[name])
    assert main([str(path), "--duration", "1s"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and str(path) in captured.err


def test_toml_workload_runs_with_its_vocabulary(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text("""
name = "mine"
duration = "1s"
[machine]
ram = "8M"
swap = "4M"
page_cluster = 0
[io]
swap_read = "1ms"
[[group]]
path = "/A"
limit = "512K"
[[tasks]]
group = "/A"
count = 2
size = "384K"
pattern = "hotcold"
write = "first"
fork_every = "200ms"
lifetime = "300ms"
restart_delay = "100ms"
""")
    from swaplab.workload import load_workload

    wl = load_workload(str(path))
    assert wl.machine.page_cluster == 0 and wl.io.swap_read_ns == 1_000_000
    assert wl.tasks[0].pattern == "hotcold" and wl.tasks[0].fork_every_ns == 200_000_000
    r = simulate(wl, "2.6.31", seed=2)
    assert r.error is None and r.invariant_violations == []
    assert r.duration_s == 1.0 and r.page_cluster == 0
    assert r.counters["forks"] > 0 and r.counters["tasks_exited"] >= 2
    assert r.counters["tasks_started"] > 2  # restarted after their lifetime


def test_workloads_are_frozen_values() -> None:
    wl = BUILTINS["swap-full"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        wl.name = "x"  # type: ignore[misc]


def test_sweep_runs_every_value_on_a_local_pool(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stale-swapcache", "--sweep", "page_cluster=0,3", "--duration", "500ms",
                 "--seed", "4", "--jobs", "2", "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)["runs"]
    assert [(r["page_cluster"], r["seed"]) for r in runs] == [(0, 4), (3, 4)]
    alone = simulate(BUILTINS["stale-swapcache"], "2.6.31", seed=4, duration_ns=500_000_000,
                     page_cluster=3).to_json()
    assert runs[1]["series"] == alone["series"]


def test_two_cpus_2631_memsw_equals_usage_after_kills() -> None:
    r = simulate(BUILTINS["stale-swapcache-fast"], "2.6.31", seed=3, cpus=2,
                 duration_ns=1_800_000_000)
    assert r.error is None and r.invariant_violations == []
    gaps = r.values_at("memsw_minus_usage_empty_groups", "kill")
    assert len(gaps) >= 3 and gaps == [0] * len(gaps)
    assert r.cpus == 2


def test_unknown_kernel_or_sweep_key_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stale-swapcache", "--kernel", "2.6.29"]) == 2
    assert main(["stale-swapcache", "--sweep", "colour=red"]) == 2
    assert main(["no-such-workload"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 3 and all(line.startswith("swaplab simulate: error:") for line in err)


def test_global_pressure_runs_kswapd_and_direct_reclaim(tmp_path: Path) -> None:
    path = tmp_path / "global.toml"
    path.write_text("""
duration = "1s"
[machine]
ram = "1M"
swap = "4M"
[[group]]
path = "/A"
[[tasks]]
group = "/A"
count = 2
size = "768K"
pattern = "hotcold"
think = "200us"
""")
    from swaplab.workload import load_workload

    r = simulate(load_workload(str(path)), "2.6.30", seed=2)
    assert r.error is None and r.invariant_violations == []
    assert r.counters["kswapd_runs"] > 0
    # 1.5M of anonymous memory in 1M of RAM, no memcg limit: global reclaim swapped
    assert max(r.series["swap_used_slots"]) > 64


def test_reclaim_scans_count_the_pages_reclaim_took_off_the_lists() -> None:
    r = simulate(BUILTINS["stale-swapcache-fast"], "2.6.31", seed=1, duration_ns=400_000_000)
    scans = r.to_json()["series"]["reclaim_scans"]
    assert scans[0] == 0
    assert scans == sorted(scans) and scans[-1] > 0  # a counter: grows under the 1M limit


def test_later_fixes_go_on_top_and_name_the_kernel(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stale-swapcache-fast", "--kernel", "2.6.31", "--fixes", "cbab0e4eec29",
                 "--duration", "0.2s", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["kernel"] == "2.6.31+fix:cbab0e4eec29" and out["error"] is None
