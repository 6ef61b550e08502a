"""Results that depend only on the code, cached per code version.

A result (a JSON object) is stored under the version of swaplab that computed it (a digest
of every source file of the package) and a key; a changed source file is a new version, so
nothing stale is ever served. The cache lives in ``$SWAPLAB_CACHE_DIR``, else
``$XDG_CACHE_HOME/swaplab``, else ``~/.cache/swaplab``. Writes are atomic (a temporary file
renamed into place), so an interrupted run leaves no half-written entry.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

PACKAGE = Path(__file__).resolve().parent


@functools.cache
def code_version() -> str:
    """A digest of the package's sources (paths and contents, in path order)."""
    return source_digest(PACKAGE)


def source_digest(package: Path) -> str:
    """:func:`code_version` of the package at ``package`` (a copy of it, say)."""
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def cache_dir() -> Path:
    explicit = os.environ.get("SWAPLAB_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "swaplab"


class ResultCache:
    """The cached results of one kind (e.g. "claims") for this code version."""

    __slots__ = ("directory", "read")

    def __init__(self, kind: str, read: bool = True) -> None:
        self.directory = cache_dir() / kind / code_version()
        self.read = read  # False: compute again (and store the new results)

    def _path(self, key: str) -> Path:
        return self.directory / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".json")

    def get(self, key: str) -> dict[str, Any] | None:
        """The result stored for ``key``, or None (none, unreadable, or not reading)."""
        if not self.read:
            return None
        try:
            value = json.loads(self._path(key).read_text())
        except (OSError, ValueError):
            return None
        return value if isinstance(value, dict) else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        """Store ``value`` for ``key``; a cache that cannot be written is skipped."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
            with os.fdopen(fd, "w") as out:
                json.dump(value, out)
            os.replace(tmp, self._path(key))
        except OSError:
            return
