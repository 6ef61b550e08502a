"""What the browser fixture (tests/report/conftest.py) returns for a page it opened."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Loaded:
    """A page opened in the browser, with what went wrong while it ran."""

    page: Any
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
