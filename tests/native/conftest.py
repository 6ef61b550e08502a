"""Shared set-up of the compiled-model tests: the build allowed (the other tests run plain,
tests/conftest.py), and this source built once (``swaplab build``) in the test processes'
shared build directory, before the tests that compare compiled and plain runs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from swaplab.native import SETTING
from swaplab.native.build import Built, build


@pytest.fixture(autouse=True)
def _build_allowed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(SETTING, "1")
    yield


@pytest.fixture(scope="session")
def built() -> Built:
    """This source's build (made now unless a build of the same source exists)."""
    return build()
