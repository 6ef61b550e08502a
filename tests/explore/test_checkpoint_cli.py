"""`swaplab check --checkpoint/--resume`: a stopped search resumed from its checkpoint ends
with the totals and findings of one that never stopped; a checkpoint of another run is
refused."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from stop_helpers import run, start

#: Statistics a resumed run must repeat (elapsed time and rates aside).
TOTALS = ("executions", "steps", "distinct_states", "max_depth", "pruned", "cut", "spinning",
          "complete")


def summary(data: dict[str, Any]) -> tuple[Any, ...]:
    stats = data["statistics"]
    return (data["result"], data["preemption_bound"], tuple(stats[k] for k in TOTALS),
            [(f["property"], f["message"], f["schedule"]) for f in data["findings"]],
            [(f["property"], f["schedule"]) for f in data["notes"]], data["vacuous"])


def check(*args: str) -> tuple[int, dict[str, Any]]:
    done = run("check", *args, "--json", "--jobs", "1")
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, json.loads(done.stdout)


def resume_until_done(args: tuple[str, ...], path: Path) -> tuple[int, dict[str, Any], int]:
    """Resume from ``path`` (0.4 s at a time) until a run ends; its status, JSON, and how
    many runs it took."""
    for runs in range(1, 40):
        code, data = check(*args, "--resume", str(path), "--checkpoint", str(path),
                           "--budget", "0.4s")
        if data.get("stopped") is None:
            return code, data, runs
    raise AssertionError("never finished")


@pytest.mark.parametrize("args", [
    ("type1", "--kernel", "2.6.30", "--strategy", "dpor"),
    ("tiny-independent-8", "--strategy", "dfs"),
    ("swapin-reuse", "--strategy", "dpor", "--preemption-bound", "4"),
])
def test_stopped_and_resumed_equals_uninterrupted(args: tuple[str, ...], tmp_path: Path) -> None:
    code, whole = check(*args)
    path = tmp_path / "search.json"
    _, part = check(*args, "--checkpoint", str(path), "--budget", "0.3s")
    assert part.get("stopped") == "budget" and path.exists()
    again, resumed, _ = resume_until_done(args, path)
    assert again == code and summary(resumed) == summary(whole)


def test_interrupted_by_a_signal_and_resumed(tmp_path: Path) -> None:
    args = ("swapin-reuse", "--kernel", "2.6.31", "--strategy", "dpor")
    code, whole = check(*args)
    path = tmp_path / "search.json"
    proc = start("check", *args, "--json", "--jobs", "1", "--checkpoint", str(path),
                 "--checkpoint-every", "0.2s")
    deadline = time.monotonic() + 60
    while not path.exists() and time.monotonic() < deadline:  # the search is under way
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "Traceback" not in err
    assert json.loads(out)["interrupted"] is True
    saved = json.loads(path.read_text())
    assert saved["format"] == "swaplab-checkpoint" and saved["frontier"]["strategy"] == "dpor"
    again, resumed = check(*args, "--resume", str(path))
    assert again == code and summary(resumed) == summary(whole)


@pytest.mark.parametrize(("other", "says"), [
    (("tiny-independent-6", "--strategy", "dfs"), "another scenario"),
    (("tiny-independent-8", "--strategy", "dpor"), "other search options (strategy differ)"),
    (("tiny-independent-8", "--strategy", "dfs", "--preemption-bound", "1"),
     "other search options (preemption_bound differ)"),
])
def test_a_checkpoint_of_another_run_is_refused(other: tuple[str, ...], says: str,
                                                tmp_path: Path) -> None:
    path = tmp_path / "search.json"
    check("tiny-independent-8", "--strategy", "dfs", "--checkpoint", str(path),
          "--budget", "0.2s")
    done = run("check", *other, "--resume", str(path), "--jobs", "1")
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1
    assert says in done.stderr


def test_a_checkpoint_of_other_kernel_options_or_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "search.json"
    args = ("type1", "--kernel", "2.6.30", "--strategy", "dpor")
    check(*args, "--checkpoint", str(path), "--budget", "0.2s")
    done = run("check", "type1", "--kernel", "2.6.31", "--strategy", "dpor", "--resume",
               str(path), "--jobs", "1")
    assert done.returncode == 2 and "another scenario options" in done.stderr
    data = json.loads(path.read_text())
    data["identity"]["code"] = "0" * 16
    path.write_text(json.dumps(data))
    done = run("check", *args, "--resume", str(path), "--jobs", "1")
    assert done.returncode == 2 and "another version of swaplab" in done.stderr
    assert len(done.stderr.splitlines()) == 1


@pytest.mark.parametrize("extra", [("--strategy", "random"), ("--jobs", "2")])
def test_checkpoints_need_a_tree_strategy_in_one_process(extra: tuple[str, ...],
                                                         tmp_path: Path) -> None:
    done = run("check", "tiny-abba", "--checkpoint", str(tmp_path / "c.json"), *extra)
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1
