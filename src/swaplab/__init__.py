"""swaplab: an executable model of Linux 2.6.30/2.6.31 swap and memory-cgroup accounting."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from swaplab.system import System

__all__ = ["System"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name == "System":
        from swaplab.system import System

        return System
    raise AttributeError(name)
