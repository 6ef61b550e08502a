"""The layering rules of the design: explore/ knows nothing of Linux; kernel/ reaches the
engine only through kernel/sync.py."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "swaplab"
HIGHER = ("kernel", "scenarios", "workload", "report", "system", "cli", "shell")
#: Modules of swaplab the engine may use: stopping a run (signals, budgets), choosing how
#: its workers import (compiled or plain) and the digest of the package's source (a
#: checkpoint's code version) are no Linux.
GENERIC = ("cache", "explore", "interrupt", "native")


def imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module == "swaplab":
            names.extend(f"swaplab.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(("." * node.level) + node.module)
    return names


def test_explore_imports_nothing_else_of_swaplab() -> None:
    offenders = []
    for path in sorted((SRC / "explore").rglob("*.py")):
        for name in imported_modules(path):
            parts = name.lstrip(".").split(".")
            if name.startswith("swaplab.") and parts[1] not in GENERIC:
                offenders.append(f"{path.name}: {name}")
            if name.startswith("..") and parts[0] in HIGHER:
                offenders.append(f"{path.name}: {name}")
    assert offenders == []


def test_kernel_reaches_the_engine_only_through_sync() -> None:
    """Only sync.py imports the engine, and page_flags.py its step record alone: the page
    flag updates are atomic bit operations, recorded with plain_write() as sync's
    primitives record theirs, in a module below sync (sync imports it)."""
    only = {"page_flags.py": "swaplab.explore.ops"}
    offenders = []
    for path in sorted((SRC / "kernel").rglob("*.py")):
        for name in imported_modules(path):
            if name.startswith("swaplab.explore") and path.name != "sync.py" \
                    and name != only.get(path.name):
                offenders.append(f"{path.name}: {name}")
    assert offenders == []
