"""Set-up shared by every test: results are cached in a directory of this run's own
(swaplab/cache.py), never in the user's ~/.cache, so no test sees another run's rows.
Tests run the plain model (``SWAPLAB_NATIVE=0``), but for those that compare it with the
compiled one (tests/native) and README's commands. Compiled builds (swaplab/native) live in
one directory of the machine's temporary files, shared by the test processes and later
runs: a build is named by the source it compiles, so a later run reuses it only for the
same source."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ["SWAPLAB_CACHE_DIR"] = tempfile.mkdtemp(prefix="swaplab-cache-")
os.environ["SWAPLAB_NATIVE"] = "0"
os.environ["SWAPLAB_NATIVE_DIR"] = str(Path(tempfile.gettempdir()) / "swaplab-native-tests")
