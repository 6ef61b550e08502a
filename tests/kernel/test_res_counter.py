"""kernel/res_counter.c (and lib/cmdline.c memparse, lib/vsprintf.c simple_strtoull) against
the 2.6.30.4 / 2.6.31.3 sources, and the limit files as Documentation/cgroups/memory.txt
of 2.6.31 describes them."""

from __future__ import annotations

import pytest

from swaplab.kernel.errno import EBUSY, EINVAL, ENOMEM
from swaplab.kernel.res_counter import (
    RES_FAILCNT,
    RES_LIMIT,
    RES_MAX_USAGE,
    RES_USAGE,
    RESOURCE_MAX,
    ResCounter,
    memparse,
    res_counter_charge,
    res_counter_check_under_limit,
    res_counter_memparse_write_strategy,
    res_counter_read_u64,
    res_counter_reset_failcnt,
    res_counter_reset_max,
    res_counter_set_limit,
    res_counter_uncharge,
    simple_strtoull,
)

P = 4096


def chain() -> tuple[ResCounter, ResCounter, ResCounter]:
    top = ResCounter(None)
    mid = ResCounter(top)
    low = ResCounter(mid)
    return top, mid, low


def test_defaults() -> None:
    c = ResCounter(None)
    assert (c.usage, c.max_usage, c.limit, c.failcnt) == (0, 0, RESOURCE_MAX, 0)
    assert RESOURCE_MAX == 9223372036854775807


def test_charge_walks_every_level() -> None:
    top, mid, low = chain()
    assert res_counter_charge(low, P) == (0, None)
    assert (top.usage, mid.usage, low.usage) == (P, P, P)
    assert (top.max_usage, mid.max_usage, low.max_usage) == (P, P, P)


def test_failing_level_alone_counts_and_lower_levels_are_undone() -> None:
    top, mid, low = chain()
    top.limit = 3 * P
    mid.limit = P
    assert res_counter_charge(low, P) == (0, None)
    ret, fail_at = res_counter_charge(low, P)
    assert ret == -ENOMEM and fail_at is mid
    # mid refused: its failcnt only; low was charged then undone; top never touched
    assert (low.failcnt, mid.failcnt, top.failcnt) == (0, 1, 0)
    assert (low.usage, mid.usage, top.usage) == (P, P, P)
    # max_usage keeps the transient peak of the undone level
    assert low.max_usage == 2 * P


def test_limit_equal_to_usage_plus_val_is_allowed() -> None:
    c = ResCounter(None)
    c.limit = 2 * P
    assert res_counter_charge(c, P)[0] == 0
    assert res_counter_charge(c, P)[0] == 0
    assert res_counter_charge(c, P)[0] == -ENOMEM
    assert c.failcnt == 1 and c.usage == 2 * P


def test_uncharge_all_levels_and_clamp_on_underflow() -> None:
    top, mid, low = chain()
    res_counter_charge(low, P)
    res_counter_uncharge(low, P)
    assert (top.usage, mid.usage, low.usage) == (0, 0, 0)
    res_counter_uncharge(low, P)  # WARN_ON + clamp
    assert (top.usage, mid.usage, low.usage) == (0, 0, 0)


def test_set_limit_ebusy_only_when_usage_above() -> None:
    c = ResCounter(None)
    res_counter_charge(c, 2 * P)
    assert res_counter_set_limit(c, P) == -EBUSY
    assert c.limit == RESOURCE_MAX
    assert res_counter_set_limit(c, 2 * P) == 0
    assert c.limit == 2 * P
    assert c.failcnt == 0


def test_check_under_limit_is_strict() -> None:
    c = ResCounter(None)
    c.limit = P
    assert res_counter_check_under_limit(c)
    res_counter_charge(c, P)
    assert not res_counter_check_under_limit(c)


def test_read_and_reset() -> None:
    c = ResCounter(None)
    c.limit = 2 * P
    res_counter_charge(c, 2 * P)
    res_counter_charge(c, P)
    res_counter_uncharge(c, P)
    assert res_counter_read_u64(c, RES_USAGE) == P
    assert res_counter_read_u64(c, RES_MAX_USAGE) == 2 * P
    assert res_counter_read_u64(c, RES_LIMIT) == 2 * P
    assert res_counter_read_u64(c, RES_FAILCNT) == 1
    res_counter_reset_max(c)
    res_counter_reset_failcnt(c)
    assert (c.max_usage, c.failcnt) == (P, 0)


@pytest.mark.parametrize(
    ("text", "value", "rest"),
    [
        ("4096", 4096, ""),
        ("0x10", 16, ""),
        ("010", 8, ""),
        ("09", 0, "9"),  # octal: 9 is not a digit
        ("0x", 0, "x"),  # "0x" without a hex digit: octal 0
        ("1.0", 1, ".0"),
        ("xx", 0, "xx"),
        ("", 0, ""),
        ("18446744073709551616", 0, ""),  # 2**64 wraps
    ],
)
def test_simple_strtoull_base0(text: str, value: int, rest: str) -> None:
    assert simple_strtoull(text, 0) == (value, rest)


@pytest.mark.parametrize(
    ("text", "value", "rest"),
    [
        ("1k", 1024, ""),
        ("1K", 1024, ""),
        ("2m", 2 << 20, ""),
        ("3G", 3 << 30, ""),
        ("1xx", 1, "xx"),
        ("1kb", 1024, "b"),
        ("1T", 1, "T"),  # no T suffix in 2.6.30/31
        ("16777216G", 1 << 54, ""),
    ],
)
def test_memparse(text: str, value: int, rest: str) -> None:
    assert memparse(text) == (value, rest)


def test_memparse_shift_wraps_modulo_2_64() -> None:
    assert memparse("17179869184G") == (0, "")  # 2**34 << 30 == 2**64


@pytest.mark.parametrize(
    ("text", "v31", "expected"),
    [
        ("4095", False, 4096),
        ("4097", False, 8192),
        ("1", False, 4096),
        ("1", True, 4096),
        ("0", False, 0),
        ("", True, 0),
        ("4096", True, 4096),
        ("1k", True, 4096),
        ("40M", True, 40 << 20),
        ("1.0", True, -EINVAL),
        ("1xx", True, -EINVAL),
        ("xx", True, -EINVAL),
        ("-1", True, RESOURCE_MAX),
        ("-01", True, RESOURCE_MAX),  # simple_strtoull(base 10) of "01" is 1
        ("-1", False, -EINVAL),
        ("-2", True, -EINVAL),
        ("-1k", True, -EINVAL),
        ("-0x1", True, -EINVAL),
        ("-", True, -EINVAL),
        # LLONG_MAX rounds up above RESOURCE_MAX (a u64, refused later by resize_limit)
        ("9223372036854775807", True, 9223372036854775808),
        ("18446744073709551615", True, 0),  # PAGE_ALIGN wraps to 0
    ],
)
def test_memparse_write_strategy(text: str, v31: bool, expected: int) -> None:
    assert res_counter_memparse_write_strategy(text, v31) == expected
