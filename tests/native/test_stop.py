"""Ctrl-C stops `swaplab claims` cleanly when its workers run the compiled model (spawned
processes, swaplab/native): at once while they start, and while they work."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator

import pytest

from stop_helpers import reap_started, start, wait_gone, workers_of
from swaplab.native.build import Built


@pytest.fixture(autouse=True)
def _no_process_left() -> Iterator[None]:
    yield
    reap_started()


def test_claims_stop_while_their_compiled_workers_work(built: Built) -> None:
    proc = start("claims", "--json", "--jobs", "2", "--no-cache")
    children = workers_of(proc)
    assert len(children) >= 2  # the two workers (and the resource tracker)
    time.sleep(3.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "Traceback" not in err, err
    rows = json.loads(out)
    assert rows and rows[-1]["verdict"] == "not decided: interrupted"
    assert not wait_gone(children)


@pytest.mark.parametrize("after", [0.3, 0.8])
def test_claims_stop_while_their_compiled_workers_start(built: Built, after: float) -> None:
    proc = start("claims", "--json", "--jobs", "2", "--no-cache")
    time.sleep(after)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert "KeyboardInterrupt" not in err
