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
from typing import Any

import pytest
from native_helpers import swaplab

from swaplab import claims, native
from swaplab.explore.backend import LocalPool
from swaplab.native.build import Built
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


def test_simulate_runs_the_build_and_check_the_encoder(built: Built) -> None:
    """What the CLI enables before it imports the model (cli._use_build)."""
    code = ("import sys; from swaplab import cli, native; cli._use_build([sys.argv[1]]);"
            "import swaplab.kernel.memory as m, swaplab.explore.canonical as c;"
            "print(native.active(), m.__file__.endswith('.so'), c.__file__.endswith('.so'))")
    env = {**os.environ, "SWAPLAB_NATIVE": "1"}
    seen = {command: subprocess.run([sys.executable, "-c", code, command], env=env,
                                    capture_output=True, text=True, check=True).stdout.split()
            for command in ("simulate", "check", "replay")}
    assert seen == {"simulate": ["True", "True", "True"], "check": ["False", "False", "True"],
                    "replay": ["False", "False", "False"]}


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
