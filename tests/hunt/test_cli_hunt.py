"""`swaplab hunt`: the JSON, the replay command, --html, bad arguments, and a hunt stopped
by SIGINT or SIGKILL that resumes from its journal with the same findings."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hunt_helpers import CAP, NO_RETRY, REAL_CAP, REAL_CASES

from swaplab.cli import main
from swaplab.hunt import run
from swaplab.hunt.triage import hunt_json, triage

HERE = Path(__file__).resolve().parent
SMALL = ("hunt", "--kernel", "2.6.30", "--max-executions", str(CAP), "--retry-executions",
         str(NO_RETRY))


def _findings(hunt: run.Hunt) -> list[dict[str, object]]:
    data: list[dict[str, object]] = hunt_json(hunt, triage(hunt))["findings"]
    return data


def test_json_lists_the_labelled_findings(small_generator: str, hunt_2630: run.Hunt,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*SMALL, "--json", "--jobs", "1"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert (data["states"], data["pairs"], data["complete"]) == (3, 4, False)
    assert data["findings"] == _findings(hunt_2630)
    assert {f["known"] for f in data["findings"]} == {"Type-1", "Type-2"}


def test_a_spent_budget_explores_nothing_more_and_says_so(
        small_generator: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*SMALL, "--jobs", "1", "--budget", "1ms"]) == 0
    out = capsys.readouterr().out
    assert "4 cases, 0 explored" in out
    assert "stopped (budget): 4 cases not explored" in out


def test_each_replay_command_reproduces_its_finding(small_generator: str,
                                                    hunt_2630: run.Hunt,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    for finding in _findings(hunt_2630):
        words = shlex.split(str(finding["replay"]))
        assert words[:2] == ["swaplab", "hunt"]
        assert main(words[1:]) == 1
        out = capsys.readouterr().out
        assert f"broken: {finding['property']}: {finding['message']}\n" in out
        assert "read_swap_cache_async()" in out or "add_to_swap()" in out


def test_html_has_a_trace_per_finding(small_generator: str, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "hunt.html"
    assert main([*SMALL, "--cases", "^resident", "--jobs", "1", "--html", str(page)]) == 1
    text = capsys.readouterr().out
    assert "Type-2" in text and "F2" in text
    html = page.read_text()
    data = json.loads(html.split('id="swaplab-data">')[1].split("</script>")[0])
    # the two findings share their schedule: one trace, where both properties break
    (trace,) = data["traces"]
    assert trace["title"] == "F1, F2: resident|exit a|reclaim /A"
    assert {f["property"] for f in trace["failures"]} == {"memcg-lru-visibility",
                                                         "swap-slot-leak"}


@pytest.mark.parametrize(("args", "error"), [
    (["--kernel", "2.6.29"], "unknown kernel '2.6.29'"),
    (["--patches", "7"], "unknown patch '7'"),
    (["--cases", "("], "--cases: not a regular expression"),
    (["--replay", "x|y"], "--replay CASE and --schedule SCHEDULE go together"),
    (["--replay", "nowhere|a|b", "--schedule", "0.1"], "no case 'nowhere|a|b'"),
    (["--replay", "quiet|exit a|exit b", "--schedule", "zz"], "schedule"),
    (["--html", "/nonexistent/dir/x.html"], "--html: no such directory"),
    (["--depth", "4"], "invalid choice"),
])
def test_bad_arguments_are_one_line_and_status_2(small_generator: str, args: list[str],
                                                 error: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    try:
        status = main(["hunt", *args])
    except SystemExit as exit:  # argparse's own checks
        status = int(str(exit.code))
    assert status == 2
    err = capsys.readouterr().err
    assert error in err and len(err.strip().splitlines()) == 1, err


def test_a_bad_journal_is_one_line_and_status_2(small_generator: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    journal = tmp_path / "j"
    journal.write_text("not a journal\n")
    assert main([*SMALL, "--resume", str(journal)]) == 2
    err = capsys.readouterr().err
    assert err == f"swaplab: error: {journal}: line 1 is not JSON\n"
    assert journal.read_text() == "not a journal\n"


# -- stopped and resumed, in a subprocess, over a few cases of the real generator -----------


def _command(journal: Path, jobs: str) -> list[str]:
    return [sys.executable, "-m", "swaplab", "hunt", "--kernel", "2.6.30", "--max-executions",
            str(REAL_CAP), "--retry-executions", str(NO_RETRY), "--cases", REAL_CASES,
            "--json", "--jobs", jobs,
            "--resume", str(journal)]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(HERE.parents[1] / "src")}


def _started(journal: Path, jobs: str) -> subprocess.Popen[str]:
    """The hunt, once it has journaled its first case."""
    proc = subprocess.Popen(_command(journal, jobs), env=_env(), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    end = time.monotonic() + 120
    while time.monotonic() < end and proc.poll() is None:
        if journal.exists() and len(journal.read_text().splitlines()) >= 2:
            return proc
        time.sleep(0.02)
    proc.kill()
    raise AssertionError(f"no case journaled: {proc.communicate()}")


@pytest.mark.parametrize(("sig", "jobs"), [(signal.SIGINT, "2"), (signal.SIGKILL, "1")])
def test_a_stopped_hunt_resumes_with_the_same_findings(sig: signal.Signals, jobs: str,
                                                       tmp_path: Path,
                                                       real_2630: run.Hunt) -> None:
    journal = tmp_path / "hunt.journal"
    proc = _started(journal, jobs)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    if sig == signal.SIGINT:
        assert proc.returncode == 130 and "Traceback" not in err, err
        assert json.loads(out)["complete"] is False
    else:
        assert proc.returncode == -signal.SIGKILL
    finished = len(journal.read_text().splitlines()) - 1
    assert 1 <= finished < 4, "stopped mid-way"
    done = subprocess.run(_command(journal, jobs), env=_env(), text=True,
                          capture_output=True, timeout=120, check=False)
    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)
    assert data["findings"] == _findings(real_2630)
    assert {f["known"] for f in data["findings"]} == {"Type-1"}
    assert data["pairs"] == 4 and len(journal.read_text().splitlines()) == 5
