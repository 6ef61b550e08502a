"""`swaplab scenarios`, `swaplab check` and `swaplab replay`: output, JSON, exit codes."""

from __future__ import annotations

import json

import pytest

from swaplab.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_scenarios_lists_names_and_descriptions(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "scenarios", "--all")
    assert code == 0
    assert any(line.startswith("tiny-abba ") and "deadlock" in line for line in out.splitlines())


def test_the_engine_models_are_listed_only_with_all(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "scenarios")
    names = [line.split()[0] for line in out.splitlines()]
    assert code == 0 and "type1" in names and "type2" in names
    assert not [name for name in names if name.startswith("tiny-")]
    code, out, _ = run(capsys, "scenarios", "--all")
    every = [line.split()[0] for line in out.splitlines()]
    assert code == 0 and "tiny-abba" in every and set(names) < set(every)
    code, out, _ = run(capsys, "check", "tiny-abba", "--jobs", "1")  # still runnable by name
    assert code == 1 and out.startswith("tiny-abba: found (dpor, fair schedules)")


def test_check_clean_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "tiny-locked-counter", "--jobs", "1")
    assert code == 0
    assert out.startswith("tiny-locked-counter: clean (dpor, fair schedules)\n"
                          "2 executions, 16 steps")


def test_check_found_exits_1_and_prints_a_replayable_schedule(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "tiny-lost-update", "--jobs", "1")
    assert code == 1
    assert "finding 1: no-lost-update: x == 1 after two increments (expected 2)" in out
    assert "  schedule: tiny-lost-update:0.0.1*3.0\n" in out
    code, out, _ = run(capsys, "replay", "tiny-lost-update:0.0.1*3.0")
    assert code == 1
    assert out.splitlines()[-1] == "no-lost-update: x == 1 after two increments (expected 2)"


def test_check_json_object(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "tiny-abba", "--strategy", "dfs", "--jobs", "1",
                       "--json")
    assert code == 1
    data = json.loads(out)
    assert list(data) == ["scenario", "kernel", "patches", "fixes", "strategy",
                          "preemption_bound", "seed", "policy", "strict", "result",
                          "statistics", "findings", "notes", "vacuous"]
    assert (data["scenario"], data["strategy"], data["result"]) == ("tiny-abba", "dfs", "found")
    assert data["statistics"]["executions"] == 14
    [finding] = data["findings"]
    assert finding["property"] == "deadlock" and finding["kind"] == "bug"
    assert finding["schedule"] == "tiny-abba:0.0.1.1"
    assert [(t["thread"], t["function"], t["detail"]) for t in finding["trace"]] == [
        ("ab", "start", "yield"), ("ab", "lock_A", "acquire A"),
        ("ba", "start", "yield"), ("ba", "lock_B", "acquire B")]


def test_check_with_bound_and_options_in_the_schedule(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "swapin-vs-zap", "--kernel", "2.6.30",
                       "--page-cluster", "0", "--preemption-bound", "2", "--jobs", "1",
                       "--json")
    data = json.loads(out)
    assert code == 1 and data["kernel"] == "2.6.30" and data["patches"] is None
    assert data["preemption_bound"] == 0  # found without a preemption
    schedule = data["findings"][0]["schedule"]
    assert schedule.startswith("swapin-vs-zap,kernel=2.6.30,page-cluster=0:")
    code, out, _ = run(capsys, "replay", schedule, "--json")
    replayed = json.loads(out)
    assert code == 1 and data["findings"][0]["property"] in [
        v["property"] for v in replayed["violations"]]


def test_an_unfair_schedule_names_its_policy_and_replays(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "tiny-spin", "--policy", "unfair", "--jobs", "1",
                       "--json")
    data = json.loads(out)
    assert code == 0 and data["result"] == "incomplete" and data["policy"] == "unfair"
    assert data["statistics"]["cut"] >= 1
    code, out, _ = run(capsys, "replay", "tiny-spin,policy=unfair:0*28.1.1")
    assert code == 0 and out.endswith("no bug property broken (cut by the step limit)\n")
    code, out, err = run(capsys, "replay", "tiny-spin:0*28.1.1")  # fair: 0 cannot spin on
    assert code == 2 and "thread 0 cannot run" in err


@pytest.mark.parametrize("argv", [
    ["check", "nope"],
    ["check", "tiny-abba", "--strategy", "bfs"],
    ["check", "tiny-abba", "--jobs", "0"],
    ["check", "tiny-abba", "--preemption-bound", "-1"],
    ["check", "tiny-independent-2", "--kernel", "9.9.9"],
    ["check", "tiny-independent-2", "--kernel", "2.6.31"],
    ["check", "type1", "--kernel", "9.9.9"],
    ["check", "type1", "--patches", "7"],
    ["check", "type1", "--kernel", "2.6.31", "--patches", "1"],
    ["check", "type1", "--policy", "random"],
    ["check", "type1", "--property", "nope"],
    ["check", "tiny-lost-update", "--property", "cache-only-counter"],
    ["replay", "tiny-abba:0.0.7"],
    ["replay", "garbage"],
    ["replay", "nope:0.1"],
])
def test_usage_errors_exit_2_with_one_line(capsys: pytest.CaptureFixture[str],
                                           argv: list[str]) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_bad_property_name_lists_the_valid_ones(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "check", "type1", "--property", "nope")
    assert code == 2 and out == "" and len(err.splitlines()) == 1
    for name in ("memcg-accounting", "swap-slot-leak", "invariants", "has-cache-has-page",
                 "cache-only-counter", "soft-lockup", "deadlock"):
        assert name in err


def test_property_checks_that_property_alone(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "tiny-lost-update", "--property", "no-lost-update",
                       "--json")
    assert code == 1 and [f["property"] for f in json.loads(out)["findings"]] == [
        "no-lost-update"]
    code, out, _ = run(capsys, "check", "tiny-lost-update", "--property", "deadlock", "--json")
    assert code == 0 and json.loads(out)["result"] == "clean"


def test_replay_of_a_clean_schedule_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "replay", "tiny-locked-counter:0*4")
    assert code == 0 and out.endswith("no bug property broken (schedule ended)\n")


def test_a_note_is_no_finding_unless_strict(capsys: pytest.CaptureFixture[str]) -> None:
    """2.6.31's orphan swap-cache page is a note: clean (exit 0), found with --strict."""
    code, out, _ = run(capsys, "check", "type2", "--kernel", "2.6.31", "--jobs", "1",
                       "--json")
    data = json.loads(out)
    assert code == 0 and data["result"] == "clean" and data["findings"] == []
    [note] = data["notes"]
    assert note["property"] == "memcg-lru-visibility" and note["kind"] == "note"
    assert note["schedule"].startswith("type2,kernel=2.6.31:") and note["trace"]
    code, out, _ = run(capsys, "check", "type2", "--kernel", "2.6.31", "--jobs", "1",
                       "--strict")
    assert code == 1 and out.startswith("type2: found")
    assert "notes (counted: --strict):" in out


def test_the_same_bug_is_found_on_2_6_30(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "type2", "--kernel", "2.6.30", "--jobs", "1",
                       "--json")
    data = json.loads(out)
    assert code == 1 and data["result"] == "found" and data["notes"] == []
    assert {f["property"] for f in data["findings"]} == {"memcg-lru-visibility",
                                                         "swap-slot-leak"}
    assert all(f["kind"] == "bug" for f in data["findings"])


def test_a_vacuous_window_is_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "type1", "--kernel", "2.6.31", "--page-cluster", "0",
                       "--jobs", "1", "--json")
    data = json.loads(out)
    assert code == 0 and data["result"] == "clean" and data["findings"] == []
    assert [v["property"] for v in data["vacuous"]] == [
        "readahead-covers-E", "free_swap_and_cache-found-page-locked"]


def test_a_reader_that_went_away_ends_the_output_quietly() -> None:
    """`swaplab check ... | head`: the pipe's reader is gone before the first line; the
    command stops with 141 (128 + SIGPIPE, as cat does) and no traceback."""
    import os
    import subprocess
    import sys

    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run([sys.executable, "-m", "swaplab", "check", "tiny-lost-update"],
                              stdout=write_end, stderr=subprocess.PIPE, timeout=120,
                              check=False)
    finally:
        os.close(write_end)
    assert done.returncode == 141
    assert b"Traceback" not in done.stderr and b"Error" not in done.stderr
