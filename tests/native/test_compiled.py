"""The compiled model against the plain one: the same results, bit for bit.

Each test runs the build of this source (made once, ``conftest.py``) and the plain source
side by side and compares everything but the seconds. A test first checks that the
compiled side really imported the build."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from native_helpers import swaplab

from swaplab import claims, native
from swaplab.explore.backend import LocalPool
from swaplab.native.build import Built
from swaplab.scenarios import all_scenarios
from swaplab.workload.claims import GROWTH_CLAIMS


def module_file(name: str) -> str:
    """Where a pool worker imported ``name`` from."""
    module = __import__(name, fromlist=["_"])
    return str(module.__file__)


MODEL = ["swaplab.kernel.memory", "swaplab.explore.dpor", "swaplab.workload.driver"]


def test_native_workers_import_the_build(built: Built) -> None:
    compiled = LocalPool(2, native=True).map(module_file, MODEL)
    assert all(f.startswith(str(built.path)) and f.endswith(".so") for f in compiled)
    plain = LocalPool(2, native=False).map(module_file, MODEL)
    assert all(f.endswith(".py") for f in plain)


def _simulate(args: list[str], compiled: bool) -> str:
    done = swaplab(["simulate", *args], compiled)
    assert done.returncode == 0, done.stderr
    return done.stdout


#: argv -> (the compiled model active, the kernel model compiled, the encoder compiled)
ENABLED = {
    ("simulate",): (True, True, True),
    ("check", "type1", "--kernel", "2.6.30"): (True, True, True),
    ("check", "--strat=dfs", "type1"): (True, True, True),
    ("check", "tiny-scaled-3x3"): (False, False, True),
    ("check", "type1", "--strategy", "dfs-cached"): (False, False, True),
    ("check", "swapin-aba", "--strategy"): (False, False, True),
    ("claims",): (False, False, True),
    ("replay",): (False, False, False),
}


def test_the_cli_enables_the_build_as_the_command_needs(built: Built) -> None:
    """What the CLI enables before it imports the model (cli._use_build): the compiled
    model for simulate and for a check that does not fingerprint states (its strategy
    given, or its scenario's default), else the compiled encoder alone; nothing for
    replay."""
    code = ("import sys; from swaplab import cli, native; cli._use_build(sys.argv[1:]);"
            "import swaplab.kernel.memory as m, swaplab.explore.canonical as c;"
            "print(native.active(), m.__file__.endswith('.so'), c.__file__.endswith('.so'))")
    env = {**os.environ, "SWAPLAB_NATIVE": "1"}
    seen = {argv: tuple(word == "True" for word in subprocess.run(
                [sys.executable, "-c", code, *argv], env=env, capture_output=True, text=True,
                check=True).stdout.split())
            for argv in ENABLED}
    assert seen == ENABLED


def test_fingerprinting_scenarios_are_those_of_the_registry() -> None:
    """The CLI decides before it imports any scenario; its list must be the registry's."""
    wanted = sorted(name for name, scenario in all_scenarios().items()
                    if scenario.strategy in native.FINGERPRINTING)
    assert list(native.FINGERPRINTING_SCENARIOS) == wanted


@pytest.mark.parametrize("args", [
    ["stale-swapcache", "--kernel", "2.6.31", "--duration", "1s", "--seed", "1"],
    ["move-and-rmdir", "--compare", "2.6.30,2.6.31", "--cpus", "2", "--duration", "0.5s",
     "--seed", "2"],
    ["swap-full", "--kernel", "2.6.30", "--duration", "1s", "--seed", "1", "--json"],
])
def test_simulate_prints_the_same(built: Built, args: list[str]) -> None:
    assert _simulate(args, compiled=True) == _simulate(args, compiled=False)


def _comparable(result: Any) -> Any:
    """A unit's result without its seconds (a simulation's ``wall_s``)."""
    value = result[0]
    if isinstance(value, claims.Outcome):
        return dataclasses.asdict(value)
    return {k: v for k, v in dataclasses.asdict(value).items() if k != "wall_s"}


def test_claims_units_are_the_same(built: Built) -> None:
    """Every check and simulation of `swaplab claims`: compiled workers (the stateful
    checks plain beside them, as the command runs them) against plain workers."""
    assert native.wanted() and native.built()  # so _run_units gives workers the build
    items = claims._items(list(GROWTH_CLAIMS), ())
    units = claims._by_cost([unit for item in items for unit in claims._units(item)])
    compiled = claims._run_units(units, 2, None)
    plain = LocalPool(2, native=False).map(claims._unit, units)
    assert len(units) > 40
    for unit, result in zip(units, plain, strict=True):
        assert result is not None and compiled[unit] is not None
        assert _comparable(compiled[unit]) == _comparable(result), unit


def _check_json(args: list[str], compiled: bool) -> dict[str, Any]:
    done = swaplab(["check", *args, "--json"], compiled)
    assert done.returncode in (0, 1), done.stderr
    out: dict[str, Any] = json.loads(done.stdout)
    for timed in ("elapsed", "steps_per_second"):
        out["statistics"].pop(timed)
    return out


@pytest.mark.parametrize("args", [
    ["tiny-scaled-3x3", "--jobs", "1"],
    ["swapin-aba", "--kernel", "2.6.31", "--fixes", "4969c1192d15", "--strategy",
     "dfs-cached", "--preemption-bound", "1", "--property", "data-integrity", "--jobs", "1"],
])
def test_the_compiled_state_encoder_stores_the_same_states(built: Built,
                                                           args: list[str]) -> None:
    """`check` runs the plain model with the compiled state encoder (swaplab/native): the
    stateful search stores, revisits and prunes exactly as with the plain encoder, and
    reports the same findings."""
    code = ("from swaplab import native; native.enable(encoder_only=True);"
            "import swaplab.explore.canonical as c; print(c.__file__)")
    where = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env={**os.environ, "SWAPLAB_NATIVE": "1"}, check=True).stdout
    assert where.strip().endswith(".so") and where.startswith(str(built.path))
    compiled = _check_json(args, compiled=True)
    assert compiled == _check_json(args, compiled=False)
    assert compiled["statistics"]["stored_states"] > 0


@pytest.mark.parametrize("args", [
    ["type1", "--kernel", "2.6.30", "--jobs", "1"],
    ["type2", "--kernel", "2.6.31", "--strategy", "dfs", "--preemption-bound", "1",
     "--jobs", "1"],
    ["discard-lockup", "--kernel", "2.6.31", "--fixes", "cbab0e4eec29", "--jobs", "1"],
])
def test_check_prints_the_same_compiled(built: Built, args: list[str]) -> None:
    """A check that does not fingerprint runs the compiled model: the same verdict,
    statistics, findings and traces as the plain one."""
    assert _check_json(args, compiled=True) == _check_json(args, compiled=False)


def test_a_compiled_checks_checkpoint_resumes_plain(built: Built, tmp_path: Path) -> None:
    """A checkpoint names the source by its digest wherever the engine runs from (a
    compiled module lives in the build directory, with no source beside it): a compiled
    check stopped by its budget goes on in a plain process to the whole search's result."""
    args = ["type2", "--kernel", "2.6.31", "--strategy", "dfs", "--jobs", "1"]
    saved = tmp_path / "check.json"
    first = _check_json([*args, "--budget", "1s", "--checkpoint", str(saved)], compiled=True)
    assert first["result"] == "incomplete" and saved.exists()
    resumed = _check_json([*args, "--resume", str(saved)], compiled=False)
    assert resumed == _check_json(args, compiled=True)
    assert resumed["statistics"]["executions"] > first["statistics"]["executions"]
