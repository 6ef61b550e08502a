"""`swaplab check` stopped by SIGINT/SIGTERM or a time budget: exit status, JSON, no traceback,
no process left behind (also when the parent is killed)."""

from __future__ import annotations

import json
import signal
import time

import pytest

from stop_helpers import descendants, run, start, wait_gone, workers_of

#: About 750 executions a second, far more than a test waits for.
LONG = ("check", "type1", "--kernel", "2.6.31", "--strategy", "dfs", "--json")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_signal_stops_check_with_valid_json(sig: signal.Signals, jobs: str) -> None:
    proc = start(*LONG, "--jobs", jobs)
    children = workers_of(proc) if jobs == "2" else set()
    time.sleep(2.0)  # some executions run
    assert jobs == "1" or children  # the pool's processes
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    data = json.loads(out)
    assert data["result"] == "incomplete" and data["interrupted"] is True
    assert data["stopped"] == "interrupted" and data["statistics"]["executions"] > 0
    assert not data["statistics"]["complete"]
    assert not wait_gone(children)


def test_the_text_report_says_interrupted() -> None:
    proc = start(*LONG[:-1], "--jobs", "1")
    time.sleep(1.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "Traceback" not in err
    assert out.startswith("type1: incomplete (dfs, fair schedules)\n")
    assert "interrupted (SIGINT/SIGTERM)" in out and " executions, " in out


def test_findings_so_far_are_reported_and_say_whether_shrunk() -> None:
    proc = start("check", "type1", "--kernel", "2.6.30", "--strategy", "dfs", "--json",
                 "--jobs", "1")
    time.sleep(2.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "Traceback" not in err
    data = json.loads(out)
    assert data["result"] == "incomplete" and data["findings"]
    assert all(isinstance(f["shrunk"], bool) and f["schedule"] for f in data["findings"])


def test_a_second_signal_aborts_at_once_without_traceback() -> None:
    proc = start(*LONG, "--jobs", "2")
    children = workers_of(proc)
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "Traceback" not in err
    assert len(err.splitlines()) <= 1
    assert not wait_gone(children)


def test_workers_die_with_a_killed_parent() -> None:
    proc = start(*LONG, "--jobs", "2")
    children = workers_of(proc)
    assert children
    proc.kill()
    proc.communicate(timeout=30)
    assert not wait_gone(children)


def test_a_budget_ends_the_run_with_the_normal_status() -> None:
    done = run(*LONG, "--jobs", "1", "--budget", "1s")
    assert done.returncode == 0 and "Traceback" not in done.stderr
    data = json.loads(done.stdout)
    assert data["result"] == "incomplete" and data["stopped"] == "budget"
    assert data["interrupted"] is False and data["statistics"]["executions"] > 0


def test_a_budget_that_finds_a_bug_exits_1() -> None:
    done = run("check", "type1", "--kernel", "2.6.30", "--strategy", "dfs", "--json",
               "--jobs", "2", "--budget", "2s")
    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)
    assert data["result"] == "found" and data["stopped"] == "budget" and data["findings"]


@pytest.mark.parametrize("budget", ["soon", "0s", "-3"])
def test_a_bad_budget_is_a_usage_error(budget: str) -> None:
    done = run("check", "tiny-abba", f"--budget={budget}")
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1


def test_claims_stop_at_a_signal_and_mark_the_rest_undecided() -> None:
    proc = start("claims", "--json", "--jobs", "2", "--no-cache")
    time.sleep(6.0)
    children = descendants(proc.pid)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "Traceback" not in err
    rows = json.loads(out)
    assert rows and rows[-1]["verdict"] == "not decided: interrupted"
    assert not wait_gone(children)


def test_claims_stop_at_their_budget_with_the_rows_decided_so_far() -> None:
    done = run("claims", "--json", "--explore-only", "--budget", "2s", "--no-cache")
    assert done.returncode == 0 and "Traceback" not in done.stderr
    rows = json.loads(done.stdout)
    verdicts = [row["verdict"] for row in rows]
    assert "not decided: budget" in verdicts
    assert not any("interrupted" in v for v in verdicts)


def test_a_signal_stops_check_on_ray_and_leaves_no_process() -> None:
    """With ``--backend ray`` (a local Ray the run starts): the first SIGINT cancels the
    tasks still running, the JSON is the partial result, and Ray's processes go with the
    run."""
    pytest.importorskip("ray")
    proc = start(*LONG, "--backend", "ray", "--jobs", "2")
    deadline = time.monotonic() + 60
    children: set[int] = set()
    while len(children) < 4 and time.monotonic() < deadline:  # raylet, workers, ...
        time.sleep(0.5)
        children = descendants(proc.pid)
    time.sleep(10)  # the shares get going on Ray's workers
    children |= descendants(proc.pid)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    data = json.loads(out)
    assert data["result"] == "incomplete" and data["interrupted"] is True
    assert not wait_gone(children, 30)
