"""The visited-state store of a stateful search: 64-bit digests and what was left to explore.

A state is stored as the first 8 bytes of its blake2b digest (an int key), with the budget
its subtree was explored with (preemptions left, steps left): a later visit with no more of
either has nothing new below it. Two different states may share a digest (a *collision*):
the search then prunes a state it never explored. As TLC does, the store reports the
probability that this happened:

- ``optimistic`` (TLC's "calculated" figure): ``n * (m - n) / 2**64`` for ``n`` distinct
  states among ``m`` lookups (each lookup of a state already stored may have been a
  different state with the same digest);
- ``birthday``: ``n * (n - 1) / 2**65``, the chance that any two of the ``n`` stored states
  share a digest.

Memory is bounded: past ``capacity`` states the store stops adding (``full``); states not
stored are explored again when met again (sound, slower), and the search says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from hashlib import blake2b

#: Default capacity: about 2**22 states (a dict entry of two ints is ~100 bytes: ~400 MB).
CAPACITY = 1 << 22
#: The size of a digest, in bits.
BITS = 64


def digest(data: bytes) -> int:
    """The 64-bit digest of a state's encoding."""
    return int.from_bytes(blake2b(data, digest_size=BITS // 8).digest(), "little")


@dataclass(slots=True)
class Visited:
    """Digests of explored states, each with the (preemptions, steps) left below it."""

    capacity: int = CAPACITY
    states: dict[int, tuple[int, int]] = field(default_factory=dict)
    lookups: int = 0  # every state looked up (TLC's "states generated")
    hits: int = 0  # lookups of a state already explored with at least the budget
    full: bool = False  # some state was not stored for want of room

    def seen(self, key: int, preemptions: int, steps: int) -> bool:
        """Whether ``key`` was explored with at least ``preemptions`` and ``steps`` left;
        if not, it is stored with them (when there is room)."""
        self.lookups += 1
        known = self.states.get(key)
        if known is not None:
            if known[0] >= preemptions and known[1] >= steps:
                self.hits += 1
                return True
            if known[0] <= preemptions and known[1] <= steps:
                self.states[key] = (preemptions, steps)  # this visit covers the old one
            return False
        if len(self.states) >= self.capacity:
            self.full = True
            return False
        self.states[key] = (preemptions, steps)
        return False

    @property
    def distinct(self) -> int:
        return len(self.states)

    def optimistic(self) -> float:
        """TLC's calculated collision probability: n * (m - n) / 2**64."""
        n = self.distinct
        return n * max(0, self.lookups - n) / 2.0 ** BITS

    def birthday(self) -> float:
        """The chance that two stored states share a digest: n * (n - 1) / 2**65."""
        n = self.distinct
        return n * (n - 1) / 2.0 ** (BITS + 1)
