"""A simulate checkpoint (swaplab/workload/checkpoint.py) resumes only in the kind of model
that wrote it: compiled and plain classes pickle differently."""

from __future__ import annotations

from pathlib import Path

from native_helpers import swaplab

from swaplab.native.build import Built

RUN = ["simulate", "stale-swapcache", "--kernel", "2.6.31", "--duration", "2s", "--seed", "1"]


def test_a_compiled_checkpoint_resumes_compiled_to_the_plain_series(built: Built,
                                                                     tmp_path: Path) -> None:
    path = str(tmp_path / "run.ckpt")
    first = swaplab([*RUN, "--checkpoint", path, "--budget", "0.3s"], compiled=True)
    assert first.returncode == 0 and "stopped by the budget" in first.stdout, first.stderr
    resumed = swaplab([*RUN, "--resume", path], compiled=True)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout == swaplab(RUN, compiled=False).stdout


def test_a_checkpoint_of_the_other_kind_is_refused(built: Built, tmp_path: Path) -> None:
    for writer in (True, False):
        path = str(tmp_path / f"{writer}.ckpt")
        first = swaplab([*RUN, "--checkpoint", path, "--budget", "0.3s"], compiled=writer)
        assert first.returncode == 0, first.stderr
        refused = swaplab([*RUN, "--resume", path], compiled=not writer)
        assert refused.returncode == 2 and refused.stdout == ""
        assert len(refused.stderr.splitlines()) == 1, refused.stderr
        kind = "compiled (swaplab build)" if writer else "plain"
        assert f"was written by the {kind} model" in refused.stderr
