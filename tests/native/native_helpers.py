"""Running ``python -m swaplab`` with the build allowed or not (``SWAPLAB_NATIVE``)."""

from __future__ import annotations

import os
import subprocess
import sys


def swaplab(args: list[str], compiled: bool) -> subprocess.CompletedProcess[str]:
    """``python -m swaplab ARGS`` in a fresh process, compiled (when this source is built)
    or plain; its output captured, at a fixed terminal width."""
    env = {**os.environ, "SWAPLAB_NATIVE": "1" if compiled else "0", "COLUMNS": "160"}
    return subprocess.run([sys.executable, "-m", "swaplab", *args], capture_output=True,
                          text=True, env=env, check=False)
