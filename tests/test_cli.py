"""The ``swaplab`` command as a new user meets it: its help, and the example scripts it
ships."""

from __future__ import annotations

import subprocess
import sys
from importlib.resources import files
from pathlib import Path

from swaplab.cli import build_parser

SRC = str(Path(__file__).resolve().parents[1] / "src")


def test_help_says_what_the_tool_does() -> None:
    text = build_parser().format_help()
    assert "2.6.30 and 2.6.31 swap subsystem and memory controller" in text
    assert "Nothing else lives here" not in text and "parse, call, render" not in text
    description = text[text.index("An executable model"):text.index("positional arguments")]
    for command in ("sh", "scenarios", "check", "claims", "replay", "simulate"):
        assert command in description.replace("\n", " ")


def test_the_example_scripts_are_package_data() -> None:
    shipped = files("swaplab") / "examples" / "ltp-basic.sh"
    assert shipped.is_file()
    pyproject = (Path(SRC).parent / "pyproject.toml").read_text()
    assert 'swaplab = ["py.typed", "examples/*.sh"]' in pyproject


def test_sh_finds_a_shipped_example_from_any_directory(tmp_path: Path) -> None:
    env = {"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "swaplab", "sh", "examples/ltp-basic.sh"],
                          cwd=tmp_path, env=env, text=True, capture_output=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith("invariants: ok")
    missing = subprocess.run([sys.executable, "-m", "swaplab", "sh", "examples/nope.sh"],
                             cwd=tmp_path, env=env, text=True, capture_output=True,
                             timeout=120, check=False)
    assert missing.returncode == 2
    assert missing.stderr == "swaplab: examples/nope.sh: No such file or directory\n"
