"""``swaplab simulate`` stopped by SIGINT/SIGTERM or a budget: partial results, exit 130 (0
for a budget), no traceback, no process left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[2] / "src")
#: a run of about a minute of wall time: the signal comes long before its end
LONG = ["swap-cycles", "--duration", "90s"]


def start(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.Popen([sys.executable, "-m", "swaplab", "simulate", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rpartition(")")[2].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_gone(pids: set[int], seconds: float = 10.0) -> set[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.1)
    return {p for p in pids if alive(p)}


def wait_for_children(proc: subprocess.Popen[str], count: int, seconds: float = 30.0) -> set[int]:
    deadline = time.monotonic() + seconds
    kids = descendants(proc.pid)
    while len(kids) < count and time.monotonic() < deadline:
        time.sleep(0.1)
        kids = descendants(proc.pid)
    return kids


def interrupted_json(proc: subprocess.Popen[str]) -> tuple[dict[str, object], str]:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err, err
    return json.loads(out), err


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_a_run_with_its_partial_series(sig: int) -> None:
    proc = start(*LONG, "--json")
    time.sleep(4)
    kids = descendants(proc.pid)
    proc.send_signal(sig)
    run, _ = interrupted_json(proc)
    assert run["interrupted"] is True and run["stopped"] == "interrupted"
    series = run["series"]
    assert isinstance(series, dict)
    assert len(series["t"]) > 1 and series["t"][-1] < 90
    assert len(series["cache_only_slots"]) == len(series["t"])
    assert not wait_gone(kids)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_a_comparison_on_a_pool(sig: int) -> None:
    proc = start(*LONG, "--compare", "2.6.30,2.6.31", "--jobs", "2", "--json")
    kids = wait_for_children(proc, 3)  # the forkserver and its two workers
    assert len(kids) >= 3
    time.sleep(2)
    proc.send_signal(sig)
    obj, _ = interrupted_json(proc)
    runs = obj["runs"]
    assert isinstance(runs, list) and [r["kernel"] for r in runs] == ["2.6.30", "2.6.31"]
    for r in runs:
        assert r["interrupted"] is True and r["stopped"] == "interrupted"
        assert len(r["series"]["t"]) > 0
    assert not wait_gone(kids)


def test_the_text_output_says_interrupted() -> None:
    proc = start(*LONG)
    time.sleep(4)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "Traceback" not in err
    assert "interrupted: sampled up to" in out and "cache_only_slots" in out


#: swap-cycles sampled once a minute: the first signal's stop waits for a far sample
SLOW_SAMPLES = """
name = "slow-samples"
duration = "90s"
sample = "60s"
[[group]]
path = "/A"
limit = "1M"
[[tasks]]
group = "/A"
size = "2M"
write = "first"
pattern = "uniform"
"""


@pytest.mark.parametrize("pool", [False, True])
def test_a_second_signal_exits_at_once(tmp_path: Path, pool: bool) -> None:
    workload = tmp_path / "slow.toml"
    workload.write_text(SLOW_SAMPLES)
    more = ["--sweep", "seed=1,2", "--jobs", "2"] if pool else []
    proc = start(str(workload), *more, "--json")
    kids = wait_for_children(proc, 3) if pool else set()
    time.sleep(3)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.2)  # two signals at once are one for Python's handler
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert out == "" and "Traceback" not in err
    assert err.strip() == "swaplab simulate: aborted by a second SIGINT"
    assert not wait_gone(kids)


def test_a_budget_stops_the_run_with_status_0() -> None:
    proc = start(*LONG, "--json", "--budget", "3s")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    run = json.loads(out)
    assert run["stopped"] == "budget" and run["interrupted"] is False
    assert len(run["series"]["t"]) > 1 and run["series"]["t"][-1] < 90


def test_a_budget_stops_a_sweep_in_this_process() -> None:
    proc = start("swap-cycles", "--duration", "90s", "--sweep", "seed=1,2", "--json",
                 "--budget", "2s")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    runs = json.loads(out)["runs"]
    assert [r["stopped"] for r in runs] == ["budget", "budget"]
    assert all(len(r["series"]["t"]) >= 1 for r in runs)


def test_a_signal_stops_a_comparison_on_ray() -> None:
    pytest.importorskip("ray")
    proc = start(*LONG, "--compare", "2.6.30,2.6.31", "--jobs", "2", "--backend", "ray",
                 "--json")
    kids = wait_for_children(proc, 4, seconds=60)  # Ray's processes
    time.sleep(15)  # Ray's workers start and the runs get going
    kids |= descendants(proc.pid)
    proc.send_signal(signal.SIGINT)
    obj, _ = interrupted_json(proc)
    runs = obj["runs"]
    assert isinstance(runs, list)
    assert [r["stopped"] for r in runs] == ["interrupted", "interrupted"]
    assert not wait_gone(kids, 30)
