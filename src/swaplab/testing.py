"""Helpers for a user's own test suite.

.. code-block:: python

    from swaplab.testing import assert_clean

    def test_exit_against_a_fault_is_clean_on_2631() -> None:
        s = System(kernel="2.6.31", ...)   # prepare a state with the usual calls
        assert_clean(s.race({"A: exit": a.exit, "B: fault": lambda: b.touch(m)}))
"""

from __future__ import annotations

from swaplab.race import RaceResult


def assert_clean(result: RaceResult) -> None:
    """Fail (AssertionError, the race's report as message) unless the race was explored
    completely and broke no bug property; notes do not count."""
    if not result.clean:
        raise AssertionError(f"the race is {result.status}, not clean:\n{result}")
