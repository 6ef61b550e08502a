"""kernel/res_counter.c and include/linux/res_counter.h (2.6.30, 2.6.31).

A resource counter: usage, max_usage, limit and failcnt, linked to a parent counter when the
memcg was created under a parent with use_hierarchy. Each level's spinlock is abstracted away:
every caller in the model already runs the whole charge as one step.
"""

from __future__ import annotations

from swaplab.kernel.errno import EINVAL, ENOMEM
from swaplab.kernel.mm_types import PAGE_SIZE

#: RESOURCE_MAX = LLONG_MAX: the default limit, "unlimited".
RESOURCE_MAX = (1 << 63) - 1

RES_USAGE = "usage"
RES_MAX_USAGE = "max_usage"
RES_LIMIT = "limit"
RES_FAILCNT = "failcnt"


class ResCounter:
    """struct res_counter. ``owner`` is the struct mem_cgroup that embeds it."""

    __slots__ = ("failcnt", "limit", "max_usage", "owner", "parent", "usage")

    def __init__(self, parent: ResCounter | None, owner: object = None) -> None:
        self.usage = 0
        self.max_usage = 0
        self.limit = RESOURCE_MAX
        self.failcnt = 0
        self.parent = parent
        self.owner = owner

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
    """kernel/res_counter.c: res_counter_uncharge_locked(): WARN_ON and clamp on underflow."""
    if counter.usage < val:
        val = counter.usage  # the kernel WARNs here
    counter.usage -= val


def res_counter_charge(counter: ResCounter, val: int) -> tuple[int, ResCounter | None]:
    """kernel/res_counter.c: res_counter_charge(): charge every level up to the root.

    At the first level over its limit only that level's failcnt is incremented, the levels
    below are uncharged again, and ``(-ENOMEM, that level)`` is returned (the C code's
    ``*limit_fail_at``). Success returns ``(0, None)``.
    """
    c: ResCounter | None = counter
    while c is not None:
        if res_counter_charge_locked(c, val):
            undo: ResCounter | None = counter
            while undo is not None and undo is not c:
                res_counter_uncharge_locked(undo, val)
                undo = undo.parent
            return -ENOMEM, c
        c = c.parent
    return 0, None


def res_counter_uncharge(counter: ResCounter, val: int) -> None:
    """kernel/res_counter.c: res_counter_uncharge(): every level up to the root."""
    c: ResCounter | None = counter
    while c is not None:
        res_counter_uncharge_locked(c, val)
        c = c.parent


def res_counter_check_under_limit(counter: ResCounter) -> bool:
    """include/linux/res_counter.h: res_counter_check_under_limit(): usage < limit."""
    return counter.usage < counter.limit


def res_counter_set_limit(counter: ResCounter, limit: int) -> int:
    """include/linux/res_counter.h: res_counter_set_limit(): -EBUSY if usage > limit."""
    from swaplab.kernel.errno import EBUSY

    if counter.usage > limit:
        return -EBUSY
    counter.limit = limit
    return 0


def res_counter_reset_max(counter: ResCounter) -> None:
    counter.max_usage = counter.usage


def res_counter_reset_failcnt(counter: ResCounter) -> None:
    counter.failcnt = 0


def memparse(text: str) -> tuple[int, str]:
    """lib/cmdline.c: memparse(): a number (C base prefixes) and an optional K/M/G suffix.

    Returns the value and the unparsed rest. Like simple_strtoull, an empty number parses
    as 0 with the whole text left over.
    """
    s = text
    base = 10
    i = 0
    if s[:2].lower() == "0x" and len(s) > 2 and s[2] in "0123456789abcdefABCDEF":
        base, i = 16, 2
    elif s[:1] == "0":
        base = 8
    digits = "0123456789abcdef"[:base]
    start = i
    while i < len(s) and s[i].lower() in digits:
        i += 1
    value = int(s[start:i], base) if i > start else 0
    rest = s[i:]
    if rest[:1] in ("G", "g"):
        value <<= 30
        rest = rest[1:]
    elif rest[:1] in ("M", "m"):
        value <<= 20
        rest = rest[1:]
    elif rest[:1] in ("K", "k"):
        value <<= 10
        rest = rest[1:]
    return value, rest


def res_counter_memparse_write_strategy(buf: str, accept_minus_one: bool) -> int:
    """kernel/res_counter.c: res_counter_memparse_write_strategy().

    Returns the page-aligned (rounded up) value, or -EINVAL. "-1" means RESOURCE_MAX on
    2.6.31 (``accept_minus_one``); 2.6.30 refuses it. mem_cgroup_write() strips the trailing
    newline before this is called (cgroup_write_string() in kernel/cgroup.c).
    """
    if buf.startswith("-"):
        if accept_minus_one and buf == "-1":
            return RESOURCE_MAX
        return -EINVAL
    value, rest = memparse(buf)
    if rest:
        return -EINVAL
    if value > RESOURCE_MAX:
        value &= (1 << 64) - 1
        if value > RESOURCE_MAX:
            return -EINVAL
    return PAGE_ALIGN(value)


def PAGE_ALIGN(value: int) -> int:
    """include/linux/mm.h: PAGE_ALIGN(): round up to a page (u64 arithmetic, saturating at
    RESOURCE_MAX rounded down as the kernel's unsigned long long wrap would make it absurd).
    """
    aligned = (value + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)
    return min(aligned, RESOURCE_MAX & ~(PAGE_SIZE - 1)) if aligned > RESOURCE_MAX else aligned
