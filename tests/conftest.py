"""Set-up shared by every test: results are cached in a directory of this run's own
(swaplab/cache.py), never in the user's ~/.cache, so no test sees another run's rows."""

from __future__ import annotations

import os
import tempfile

os.environ["SWAPLAB_CACHE_DIR"] = tempfile.mkdtemp(prefix="swaplab-cache-")
