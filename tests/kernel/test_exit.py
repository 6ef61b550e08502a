"""kernel/exit.py: exit_mm() hands a shared mm's ownership on (mm_update_next_owner)."""

from __future__ import annotations

from swaplab import System
from swaplab.kernel.mm_types import PAGE_SIZE


def test_owner_exit_hands_the_mm_to_a_thread_still_using_it(version: str) -> None:
    """The leader (mm->owner) of a two-thread process in /B exits after the other thread
    moved to /A; /B is then removed and freed. The mm's next fault charges the thread's
    group, /A: mm->owner is the thread now, not the exited leader, whose group is gone
    (kernel/exit.c: exit_mm() -> mm_update_next_owner())."""
    s = System(kernel=version, ram="16M", swap="1M")
    s.mkdir("/A")
    s.mkdir("/B")
    leader = s.spawn("/B")
    m = leader.mmap_anon(4 * PAGE_SIZE)
    assert leader.touch(m) == 4
    thread = leader.clone_thread()
    thread.move_to("/A")
    leader.exit()
    s.rmdir("/B")  # no task left: its charges go to the parent, the memcg is freed
    fresh = thread.mmap_anon(2 * PAGE_SIZE)
    assert thread.touch(fresh) == 2  # charged to the owner's group
    assert int(s.read("/A/memory.usage_in_bytes")) == 2 * PAGE_SIZE
    assert s.check_invariants() == []
    mm = thread.task.mm
    assert mm is not None and mm.owner is thread.task


def test_last_user_keeps_the_owner(version: str) -> None:
    """An owner that is the mm's last user keeps it (mm_need_new_owner(): mm_users <= 1):
    the mm goes away with it."""
    s = System(kernel=version, ram="16M", swap="1M")
    t = s.spawn("/")
    mm = t.task.mm
    t.exit()
    assert mm is not None and mm.owner is t.task and mm.mm_users == 0
