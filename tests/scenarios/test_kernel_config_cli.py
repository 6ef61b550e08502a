"""The patch switches of "memcg: fix swap account" (kernel/config.py): presets,
dependencies, and `swaplab check --patches` taking any valid subset on top of 2.6.30 and
refusing the others with exit 2 and one line."""

from __future__ import annotations

import itertools
import json

import pytest

from swaplab.cli import main
from swaplab.kernel.config import PATCHES, PRESETS, ConfigError, make_config

NEEDS = {"2": "1", "3": "2", "4": "2", "5": "3", "reuse": "2"}


def valid(subset: tuple[str, ...]) -> bool:
    return all(NEEDS[p] in subset for p in subset if p in NEEDS)


def test_presets_are_the_issue_5_sets() -> None:
    assert PRESETS["2.6.30"].patches() == []
    assert PRESETS["rfc-2009-05-26"].patches() == ["1", "2", "3", "4", "5"]
    assert PRESETS["2.6.31"].patches() == ["1", "2", "4", "reuse"]
    assert PRESETS["rfc-2009-05-26"].base == "2.6.30"
    assert PRESETS["rfc-2009-05-26"].cache_only_gc_threshold == 4096


def test_every_subset_is_accepted_exactly_when_its_dependencies_are_on() -> None:
    names = list(PATCHES)
    accepted = 0
    for n in range(len(names) + 1):
        for subset in itertools.combinations(names, n):
            if valid(subset):
                cfg = make_config("2.6.30", ",".join(subset))
                assert cfg.patches() == list(subset) and cfg.base == "2.6.30"
                accepted += 1
            else:
                with pytest.raises(ConfigError):
                    make_config("2.6.30", ",".join(subset))
    # {}, {1}, {1,2} x subsets of {4, reuse, 3(+5?)}: 2 + 4 * (1 + 1 + 1) = 14
    assert accepted == 14


@pytest.mark.parametrize("patches", ["4", "2", "1,3", "1,2,5", "reuse", "bogus"])
def test_check_refuses_an_invalid_patch_set_with_one_line(
        patches: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "type1", "--patches", patches, "--jobs", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("swaplab: error: type1:")


def test_check_accepts_a_valid_subset(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "type1", "--patches", "1,2,4", "--jobs", "1"]) == 1  # found
    out = capsys.readouterr().out
    assert "memcg-lru-visibility" in out and "memcg-accounting" not in out


def test_patches_apply_on_top_of_2_6_30_only(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "type1", "--kernel", "2.6.31", "--patches", "1,2"]) == 2
    assert "on top of 2.6.30" in capsys.readouterr().err


# -- later fixes: --fixes ------------------------------------------------------------------

FIX = "4969c1192d15"


@pytest.mark.parametrize("argv", [
    ["check", "type1", "--fixes", "deadbeef0000"],
    ["check", "type1", "--fixes", f"{FIX},4969c"],
    ["replay", "type1:0", "--fixes", "x"],
    ["claims", "--fixes", "0123456789ab"],
    ["simulate", "swap-full", "--fixes", "deadbeef0000"],
])
def test_an_unknown_fix_exits_2_with_one_line(argv: list[str],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    try:
        status = main(argv)
    except SystemExit as exit_:  # argparse's own usage error
        status = int(exit_.code or 0)
    assert status == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown fix" in err


def test_fixes_mean_nothing_to_an_engine_model(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "tiny-abba", "--fixes", FIX]) == 2
    assert "--fixes means nothing" in capsys.readouterr().err


def test_fixes_compose_with_patches_and_are_in_the_json_and_the_schedule(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "type1", "--patches", "1,2,4", "--fixes", FIX, "--jobs", "1",
                 "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["patches"] == ["1", "2", "4"] and out["fixes"] == [FIX]
    schedule = out["findings"][0]["schedule"]
    assert schedule.startswith(f"type1,patches=1+2+4,fixes={FIX}:")
    # the schedule alone replays the run: same kernel, same fix, same violation
    assert main(["replay", schedule, "--json"]) == 1
    replayed = json.loads(capsys.readouterr().out)
    assert replayed["fixes"] == [FIX]
    assert replayed["property"] == out["findings"][0]["property"]


def test_replay_adds_fixes_to_the_schedule_s_own(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "type1", "--kernel", "2.6.30", "--jobs", "1", "--json"]) == 1
    schedule = json.loads(capsys.readouterr().out)["findings"][0]["schedule"]
    main(["replay", schedule, "--fixes", FIX, "--json"])
    replayed = json.loads(capsys.readouterr().out)
    assert replayed["fixes"] == [FIX]
    assert replayed["schedule"].startswith(f"type1,kernel=2.6.30,fixes={FIX}")
