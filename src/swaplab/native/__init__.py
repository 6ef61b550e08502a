"""The kernel model and the explorer compiled with mypyc, used only where that changes
nothing but speed.

swaplab is Python source. ``swaplab build`` (:mod:`swaplab.native.build`) compiles the
modules that run every kernel step (:data:`COMPILED`: ``kernel/``, the explorer but its
state encoder and process pools, the simulator's driver, processes and metrics) into C
extensions, in a build directory named after the digest of the whole package source
(:func:`swaplab.cache.code_version`) and the interpreter. A process that calls
:func:`enable` before it imports any of them imports them from that build. A build of
other source is never used: after any edit, swaplab runs the plain source until the next
``swaplab build``.

Compiled, the model takes the same kernel steps, samples the same series, and the explorer
finds the same executions, verdicts and schedules (``tests/native`` compares them). One
thing differs: a compiled coroutine has no Python frame, so the state encoder
(``explore/canonical.py``) cannot read a thread suspended in compiled code and counts its
state as new. That is sound, but it prunes less, so a strategy that fingerprints states
(:data:`FINGERPRINTING`) runs the plain model. The encoder itself is compiled on its own
(:data:`ENCODER`), for those runs. Who uses what: ``swaplab simulate`` (and its workers)
and a ``check`` whose strategy does not fingerprint the compiled model; ``claims``'
workers the compiled model, its own process (where the fingerprinting checks run) the
plain model with the compiled encoder, as a fingerprinting ``check`` and ``hunt`` do;
everything else (the tests, the Python API) runs plain unless it calls :func:`enable`.
``SWAPLAB_NATIVE=0`` turns the build off everywhere.

This module imports nothing of swaplab's model: it must run before it is imported.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from swaplab.cache import cache_dir, code_version

__all__ = ["COMPILED", "ENCODER", "FINGERPRINTING", "FINGERPRINTING_SCENARIOS", "PLAIN",
           "active", "build_dir",
           "builds_root", "built", "enable", "modules_in", "native_worker", "wanted"]

#: The package's modules compiled (globs relative to ``src/``): the kernel model and the
#: engine, which run every step.
COMPILED = ("swaplab/kernel/*.py", "swaplab/explore/*.py", "swaplab/workload/driver.py",
            "swaplab/workload/procs.py", "swaplab/workload/metrics.py")
#: Kept out of them (and so are package ``__init__`` files): the state encoder (it reads
#: frames; compiled on its own, :data:`ENCODER`) and the process pools (they start
#: processes and choose how those import).
PLAIN = ("swaplab/explore/canonical.py", "swaplab/explore/backend.py",
         "swaplab/explore/parallel.py")
#: The state encoder, compiled on its own: its extension treats every other module as
#: Python code, so a process that runs the plain model may use it (:func:`enable`).
ENCODER = "swaplab/explore/canonical.py"
#: The search strategies that fingerprint states with the encoder: they run plain.
FINGERPRINTING = ("dfs-cached",)
#: The scenarios whose default strategy is one of them (the CLI decides before it imports
#: any scenario; tests/native/test_compiled.py checks this against the registry).
FINGERPRINTING_SCENARIOS = ("swapin-aba", "tiny-scaled-3x3")
#: ``SWAPLAB_NATIVE=0`` (or "no", "off"): never use a build.
SETTING = "SWAPLAB_NATIVE"

_finder: _BuildFinder | None = None


def modules_in(src: Path) -> list[str]:
    """The source files :data:`COMPILED` names under ``src``, relative and sorted."""
    found = {str(p.relative_to(src)) for pattern in COMPILED for p in src.glob(pattern)}
    return sorted(name for name in found.difference(PLAIN)
                  if not name.endswith("__init__.py"))


def builds_root() -> Path:
    """Where builds live: ``$SWAPLAB_NATIVE_DIR``, else ``native/`` in the cache
    directory (:func:`swaplab.cache.cache_dir`)."""
    explicit = os.environ.get("SWAPLAB_NATIVE_DIR")
    return Path(explicit) if explicit else cache_dir() / "native"


def build_dir(version: str | None = None) -> Path:
    """Where the build of this source (or of the source of ``version``, a
    :func:`~swaplab.cache.code_version`) for this interpreter lives; it may not exist."""
    tag = sys.implementation.cache_tag or "python"
    return builds_root() / f"{version or code_version()}-{tag}"


def built() -> bool:
    """Whether :func:`build_dir` holds a finished build."""
    return (build_dir() / "BUILT").is_file()


def wanted() -> bool:
    """Whether this environment lets swaplab use a build (``SWAPLAB_NATIVE``)."""
    return os.environ.get(SETTING, "").strip().lower() not in ("0", "no", "off", "false")


def active() -> bool:
    """Whether this process runs the compiled model (:func:`enable` succeeded)."""
    return _finder is not None and not _finder.encoder_only


def enable(encoder_only: bool = False) -> bool:
    """Import the compiled modules from now on; True when this process uses them.
    ``encoder_only``: only the state encoder (:data:`ENCODER`), beside the plain model.

    False, and nothing changes, when the build is turned off, not built for this source,
    when this process already chose, or when one of the modules is already imported (a
    process never mixes the two)."""
    global _finder
    if _finder is not None:
        return _finder.encoder_only == encoder_only
    if not wanted() or not built():
        return False
    finder = _BuildFinder(build_dir(), encoder_only)
    if any(name in sys.modules for name in finder.files):
        return False
    sys.meta_path.insert(0, finder)
    _finder = finder
    return True


def native_worker(flag: Any, parent: int) -> None:
    """A pool worker's set-up (explore/backend.py) when it runs the compiled model: the
    build before anything imports the model, then the worker's stop request."""
    enable()
    from swaplab import interrupt

    interrupt.become_worker(flag.is_set, parent)


class _BuildFinder(importlib.abc.MetaPathFinder):
    """Finds each compiled module (and mypyc's shared libraries of them) in a build; with
    ``encoder_only``, only the state encoder and its library."""

    def __init__(self, root: Path, encoder_only: bool = False) -> None:
        suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
        encoder = ENCODER.removesuffix(".py").replace("/", ".")
        self.encoder_only = encoder_only
        self.files: dict[str, str] = {}
        for path in sorted(root.rglob("*.so")):
            relative = path.relative_to(root)
            stem = next((str(relative)[:-len(s)] for s in suffixes
                         if str(relative).endswith(s)), None)
            if stem is None:
                continue
            name = stem.replace(os.sep, ".")
            if not encoder_only or name in (encoder, encoder + "__mypyc"):
                self.files[name] = str(path)

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        location = self.files.get(fullname)
        if location is None:
            return None
        return importlib.util.spec_from_file_location(fullname, location)
