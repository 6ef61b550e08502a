"""The comparison plot: a valid PNG that shows the runs' series (read back from the axes)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from swaplab.report.plots import DEFAULT_METRICS, plot_runs
from swaplab.workload.command import main

# plot_runs draws with matplotlib (the "plot" extra): without it these tests are skipped
pytest.importorskip("matplotlib")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def test_compare_plot_is_a_png_with_both_kernels_series(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png = tmp_path / "cmp.png"
    csv_path = tmp_path / "cmp.csv"
    assert main(["stale-swapcache", "--compare", "2.6.30,2.6.31", "--duration", "1s",
                 "--seed", "5", "--plot", str(png), "--csv", str(csv_path), "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)["runs"]
    assert [r["kernel"] for r in runs] == ["2.6.30", "2.6.31"]
    assert [r["seed"] for r in runs] == [5, 5]
    width, height = _png_size(png)
    assert width > 400 and height > 400
    # draw again to read back what is drawn: one line per (kernel, metric), the data
    drawn = plot_runs(runs, tmp_path / "again.svg")
    assert (tmp_path / "again.svg").read_text().lstrip().startswith("<?xml")
    assert [(p.run.split()[0], p.metric) for p in drawn] == [
        (kernel, metric) for kernel in ("2.6.30", "2.6.31") for metric in DEFAULT_METRICS]
    for p in drawn:
        run = runs[0] if p.run.startswith("2.6.30") else runs[1]
        assert p.x == tuple(run["series"]["t"])
        assert p.y == tuple(float(v) for v in run["series"][p.metric])
    # the CSV has one row per sample of each run
    rows = csv_path.read_text().splitlines()
    assert len(rows) == 1 + sum(len(r["series"]["t"]) for r in runs)
    assert rows[0].split(",")[:6] == ["kernel", "patches", "page_cluster", "seed", "t", "event"]


def test_plot_refuses_other_formats(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        plot_runs([], tmp_path / "x.jpg")
