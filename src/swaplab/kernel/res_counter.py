"""kernel/res_counter.c and include/linux/res_counter.h (2.6.30, 2.6.31), with the parsers of
lib/cmdline.c (memparse) and lib/vsprintf.c (simple_strtoull) that its write strategy uses.

A resource counter: usage, max_usage, limit and failcnt, linked to a parent counter when the
memcg was created under a parent with use_hierarchy. Each level has its spinlock
(``counter->lock``), taken and dropped in plain code: every caller in the model runs a whole
charge or uncharge inside one step, and the step's record has the lock effects, so the
explorer orders it against every other section of that counter.

Values are ``unsigned long long`` in C: parsing and PAGE_ALIGN wrap modulo 2**64 as the C
arithmetic does, so a limit above RESOURCE_MAX can be stored (and is then refused by
mem_cgroup_resize_limit() because it exceeds the memsw limit).

The only difference between the versions: [31] res_counter_memparse_write_strategy() accepts
"-1" (any "-" followed by a decimal number equal to 1, e.g. "-01") as RESOURCE_MAX.
"""

from __future__ import annotations

from swaplab.kernel.errno import EBUSY, EINVAL, ENOMEM
from swaplab.kernel.mm_types import PAGE_SIZE
from swaplab.kernel.sync import Lock, plain_read, spin_lock_uncontended, spin_unlock

#: RESOURCE_MAX = LLONG_MAX: the default limit, "unlimited".
RESOURCE_MAX = (1 << 63) - 1

#: unsigned long long arithmetic wraps modulo 2**64.
U64_MASK = (1 << 64) - 1

RES_USAGE = "usage"
RES_MAX_USAGE = "max_usage"
RES_LIMIT = "limit"
RES_FAILCNT = "failcnt"


class ResCounter:
    """struct res_counter. ``owner`` is the struct mem_cgroup that embeds it
    (mem_cgroup_from_res_counter())."""

    __slots__ = ("failcnt", "limit", "lock", "max_usage", "name", "owner", "parent", "usage")

    def __init__(self, parent: ResCounter | None, owner: object = None,
                 name: str = "res") -> None:
        self.name = name
        self.lock = Lock(f"{name}.lock")
        self.usage = 0
        self.max_usage = 0
        self.limit = RESOURCE_MAX
        self.failcnt = 0
        self.parent = parent
        self.owner = owner

    @property
    def stable_key(self) -> tuple[object, str]:
        """The explorer's name of this counter in every run (ops.stable_name): its
        owner's name and which counter of the owner it is."""
        return getattr(self.owner, "stable_key", None), self.name

    def __repr__(self) -> str:
        return f"ResCounter(usage={self.usage}, limit={self.limit}, failcnt={self.failcnt})"


def res_counter_charge_locked(counter: ResCounter, val: int) -> int:
    """kernel/res_counter.c: res_counter_charge_locked(): 0, or -ENOMEM and failcnt++."""
    if counter.usage + val > counter.limit:
        counter.failcnt += 1
        return -ENOMEM
    counter.usage += val
    if counter.usage > counter.max_usage:
        counter.max_usage = counter.usage
    return 0


def res_counter_uncharge_locked(counter: ResCounter, val: int) -> None:
    """kernel/res_counter.c: res_counter_uncharge_locked(): on underflow the kernel WARNs
    and clamps to 0; the model clamps silently (the invariants report the imbalance)."""
    if counter.usage < val:
        val = counter.usage
    counter.usage -= val


def res_counter_charge(counter: ResCounter, val: int) -> tuple[int, ResCounter | None]:
    """kernel/res_counter.c: res_counter_charge(): charge every level up to the root.

    At the first level over its limit only that level's failcnt is incremented, the levels
    below are uncharged again, the levels above are not touched, and ``(-ENOMEM, that
    level)`` is returned (the C code's ``*limit_fail_at``). Success returns ``(0, None)``.
    """
    c: ResCounter | None = counter
    while c is not None:
        spin_lock_uncontended(c.lock)
        ret = res_counter_charge_locked(c, val)
        spin_unlock(c.lock)
        if ret:
            undo: ResCounter | None = counter
            while undo is not None and undo is not c:
                spin_lock_uncontended(undo.lock)
                res_counter_uncharge_locked(undo, val)
                spin_unlock(undo.lock)
                undo = undo.parent
            return -ENOMEM, c
        c = c.parent
    return 0, None


def res_counter_uncharge(counter: ResCounter, val: int) -> None:
    """kernel/res_counter.c: res_counter_uncharge(): every level up to the root."""
    c: ResCounter | None = counter
    while c is not None:
        spin_lock_uncontended(c.lock)
        res_counter_uncharge_locked(c, val)
        spin_unlock(c.lock)
        c = c.parent


def res_counter_read_u64(counter: ResCounter, member: str) -> int:
    """kernel/res_counter.c: res_counter_read_u64(): one of usage/max_usage/limit/failcnt
    (a lock-free read of what changes under counter->lock: a plain read of that lock's
    sections to the explorer)."""
    plain_read(counter.lock)
    if member == RES_USAGE:
        return counter.usage
    if member == RES_MAX_USAGE:
        return counter.max_usage
    if member == RES_LIMIT:
        return counter.limit
    if member == RES_FAILCNT:
        return counter.failcnt
    raise ValueError(f"res_counter member {member!r}")  # BUG() in C


def res_counter_check_under_limit(counter: ResCounter) -> bool:
    """include/linux/res_counter.h: res_counter_check_under_limit(): usage < limit (this
    level only, under counter->lock)."""
    spin_lock_uncontended(counter.lock)
    spin_unlock(counter.lock)
    return counter.usage < counter.limit


def res_counter_set_limit(counter: ResCounter, limit: int) -> int:
    """include/linux/res_counter.h: res_counter_set_limit(): -EBUSY if usage > limit
    (equal is fine); failcnt is not touched."""
    spin_lock_uncontended(counter.lock)
    ret = -EBUSY if counter.usage > limit else 0
    if not ret:
        counter.limit = limit
    spin_unlock(counter.lock)
    return ret


def res_counter_reset_max(counter: ResCounter) -> None:
    """include/linux/res_counter.h: res_counter_reset_max(): max_usage = usage."""
    counter.max_usage = counter.usage


def res_counter_reset_failcnt(counter: ResCounter) -> None:
    """include/linux/res_counter.h: res_counter_reset_failcnt()."""
    counter.failcnt = 0


def simple_guess_base(s: str) -> int:
    """lib/vsprintf.c: simple_guess_base(): "0x" + hex digit -> 16, leading "0" -> 8, else 10."""
    if s[:1] == "0":
        if s[1:2].lower() == "x" and s[2:3] != "" and s[2] in _HEX:
            return 16
        return 8
    return 10


_HEX = "0123456789abcdefABCDEF"


def simple_strtoull(s: str, base: int) -> tuple[int, str]:
    """lib/vsprintf.c: simple_strtoull(): digits of ``base`` (0 = guess), no sign, no
    leading blanks; returns the value modulo 2**64 and the unparsed rest (``*endp``).
    An empty number is 0 with the whole text left over."""
    if base == 0:
        base = simple_guess_base(s)
    i = 0
    if base == 16 and s[:1] == "0" and s[1:2].lower() == "x":
        i = 2
    result = 0
    while i < len(s) and s[i] in _HEX:
        value = int(s[i], 16)
        if value >= base:
            break
        result = (result * base + value) & U64_MASK
        i += 1
    return result, s[i:]


def memparse(text: str) -> tuple[int, str]:
    """lib/cmdline.c: memparse(): simple_strtoull(base 0) and an optional K/M/G suffix
    (either case; the shifts wrap modulo 2**64). Returns the value and the unparsed rest."""
    value, rest = simple_strtoull(text, 0)
    shift = {"G": 30, "g": 30, "M": 20, "m": 20, "K": 10, "k": 10}.get(rest[:1], 0)
    if shift:
        value = (value << shift) & U64_MASK
        rest = rest[1:]
    return value, rest


def PAGE_ALIGN(value: int) -> int:
    """include/linux/mm.h: PAGE_ALIGN(): round up to a page, modulo 2**64 (so the largest
    values wrap to small ones, as in C)."""
    return ((value + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)) & U64_MASK


def res_counter_memparse_write_strategy(buf: str, accept_minus_one: bool) -> int:
    """kernel/res_counter.c: res_counter_memparse_write_strategy().

    Returns the page-aligned (rounded up) value, or -EINVAL when text follows the number
    ("1.0", "1xx", "xx"). An empty string parses as 0. ``accept_minus_one`` is [31]:
    "-" + a decimal 1 ("-1", "-01") means RESOURCE_MAX; any other "-..." is -EINVAL. In
    [30] "-1" reaches memparse, which parses nothing, and is -EINVAL too.
    cgroup_write_string() has already stripped blanks and the newline (strstrip()).
    """
    if accept_minus_one and buf.startswith("-"):
        value, rest = simple_strtoull(buf[1:], 10)
        if value != 1 or rest:
            return -EINVAL
        return RESOURCE_MAX
    value, rest = memparse(buf)
    if rest:
        return -EINVAL
    return PAGE_ALIGN(value)
