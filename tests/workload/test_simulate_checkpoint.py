"""Checkpoints of ``swaplab simulate``: an interrupted run resumed gives the series of an
uninterrupted one; a checkpoint of another run or code version is refused (exit 2)."""

from __future__ import annotations

import json
import pickle
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from test_interrupt_cli import start

from swaplab.workload import checkpoint
from swaplab.workload.sim import Simulation
from swaplab.workload.spec import BUILTINS, load_workload
from swaplab.workload.sweep import RunSpec

RUN = ["swap-cycles", "--seed", "2", "--duration", "15s", "--json"]


def finish(proc: subprocess.Popen[str], status: int) -> dict[str, Any]:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == status, err
    assert "Traceback" not in err
    result: dict[str, Any] = json.loads(out)
    return result


def test_an_interrupted_run_resumed_gives_the_uninterrupted_series(tmp_path: Path) -> None:
    saved = tmp_path / "run.ck"
    proc = start(*RUN, "--checkpoint", str(saved), "--checkpoint-every", "1s")
    end = time.monotonic() + 60
    while not saved.exists() and proc.poll() is None and time.monotonic() < end:
        time.sleep(0.05)  # stopped after its first checkpoint: well inside the run
    proc.send_signal(signal.SIGINT)
    partial = finish(proc, 130)
    assert saved.exists() and not list(tmp_path.glob(".*.tmp"))
    resumed = finish(start(*RUN, "--resume", str(saved)), 0)
    whole = finish(start(*RUN), 0)
    assert 1 < len(partial["series"]["t"]) < len(whole["series"]["t"])
    assert resumed["series"] == whole["series"]
    assert resumed["summary"] == whole["summary"]
    assert resumed["counters"] == whole["counters"]
    assert "interrupted" not in resumed


@pytest.mark.parametrize(("option", "value"), [("--seed", "3"), ("--kernel", "2.6.30"),
                                               ("--duration", "16s"), ("--cpus", "2")])
def test_a_checkpoint_of_another_run_is_refused(tmp_path: Path, option: str,
                                                value: str) -> None:
    saved = tmp_path / "run.ck"
    finish(start(*RUN, "--budget", "1s", "--checkpoint", str(saved)), 0)
    args = [*RUN, option, value, "--resume", str(saved)]
    proc = start(*args)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and out == ""
    assert err.count("\n") == 1 and "is of another run" in err, err


def test_a_checkpoint_of_another_code_version_or_no_checkpoint_is_refused(
        tmp_path: Path) -> None:
    saved = tmp_path / "run.ck"
    finish(start(*RUN, "--budget", "1s", "--checkpoint", str(saved)), 0)
    with saved.open("rb") as fh:
        header = pickle.load(fh)
        rest = fh.read()
    header["code"] = "0" * 64
    forged = tmp_path / "old.ck"
    forged.write_bytes(pickle.dumps(header) + rest)
    junk = tmp_path / "junk.ck"
    junk.write_text("{}")
    for path, message in ((forged, "another version of swaplab"),
                          (junk, "not a swaplab simulate checkpoint"),
                          (tmp_path / "missing.ck", "cannot read checkpoint")):
        proc = start(*RUN, "--resume", str(path))
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 2 and message in err and err.count("\n") == 1, err


def test_checkpoints_take_one_run(tmp_path: Path) -> None:
    proc = start(*RUN, "--compare", "2.6.30,2.6.31", "--checkpoint", str(tmp_path / "x"))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "take one run" in err


#: every kind of process: forks, lifetimes, delayed starts, passes, a killer, a mover
FORKY = """
name = "forky"
sample = "100ms"
[[group]]
path = "/A"
limit = "1M"
[[group]]
path = "/B"
limit = "768K"
[[tasks]]
group = "/A"
count = 2
size = "512K"
pattern = "hotcold"
fork_every = "200ms"
lifetime = "900ms"
restart_delay = "50ms"
[[tasks]]
group = "/B"
size = "1M"
pattern = "uniform"
write = "first"
passes = 3
start = "300ms"
[[killer]]
group = "/B"
every = "700ms"
[[mover]]
group = "/A"
every = "1s"
"""


@pytest.mark.parametrize("name", ["move-and-rmdir", "stale-swapcache-fast", "swap-full",
                                  "forky"])
def test_resuming_in_this_process_at_several_samples(tmp_path: Path, name: str) -> None:
    """Every checkpointed sample resumes to the same series (killers, rounds of groups,
    restarts and forks of processes in mid-flight)."""
    if name == "forky":
        (tmp_path / "forky.toml").write_text(FORKY)
        workload = load_workload(str(tmp_path / "forky.toml"))
    else:
        workload = BUILTINS[name]
    spec = RunSpec(workload, "2.6.30", None, 5, 2, 1_500_000_000)
    run = checkpoint.identity(spec)
    whole = Simulation(spec.workload, "2.6.30", None, 5, 2, spec.duration_ns).run().to_json()
    saved: list[Path] = []

    def every_third(sim: Simulation, stopping: bool) -> None:
        if len(sim.result.times) % 3 == 0:
            path = tmp_path / f"{len(saved)}.ck"
            assert checkpoint.save(path, sim, run)
            saved.append(path)

    Simulation(spec.workload, "2.6.30", None, 5, 2, spec.duration_ns).run(
        on_sample=every_third)
    assert len(saved) >= 2
    for path in saved:
        assert checkpoint.load(path, run).run().to_json()["series"] == whole["series"]
