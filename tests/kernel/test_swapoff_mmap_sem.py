"""swapoff's unuse_mm() against a writer of mmap_sem (mm/swapfile.c: unuse_mm(), 2.6.30 and
2.6.31): when down_read_trylock() fails, the swap-cache page is activated and unlocked while
swapoff sleeps in down_read(), and locked again once it is in. Explored with dpor: B's page
is swapped out; swapoff runs against munmap() of B's other mapping (mmap_sem for write)."""

from __future__ import annotations

from dataclasses import dataclass, field

from swaplab.explore.execution import Thread
from swaplab.explore.explorer import explore
from swaplab.explore.model import Instance, always, at_end, sometimes
from swaplab.explore.search import Options
from swaplab.kernel import invariants, mmap, swapfile
from swaplab.kernel.mm_types import PAGE_SIZE, MmStruct, Page, TaskStruct
from swaplab.kernel.sync import Current
from swaplab.scenarios import ScenarioOptions, new_instance
from swaplab.scenarios.kernel_common import (
    World,
    mmap_touch,
    new_task,
    page_at,
    swap_out,
    swap_world,
    swp_at,
)

SLEEP_SITE = "unuse_mm: down_read(mmap_sem)"


@dataclass
class Watch:
    """What the properties of one run look at: the swapoff thread, B's mm and entry, and
    whether swapoff was seen asleep on mmap_sem."""

    w: World
    b: TaskStruct
    mm: MmStruct
    entry: int
    addr: int
    swapoff: list[Thread] = field(default_factory=list)
    slept: bool = False

    def page(self) -> Page | None:
        return self.w.k.swapper_space.page_tree.get(self.entry)

    def sleeping(self) -> bool:
        """swapoff's next step is unuse_mm()'s down_read() (its trylock failed)."""
        pending = self.swapoff[0].pending if self.swapoff else None
        return pending is not None and pending.site == SLEEP_SITE

    def unlocked_while_asleep(self, _: World) -> bool:
        if not self.sleeping():
            return True
        self.slept = True
        page = self.page()
        return page is not None and page.lock.holder is None

    def relocked_under_mmap_sem(self, _: World) -> bool:
        page = self.page()
        return (self.slept and page is not None and self.mm.mmap_sem.readers == 1
                and page.lock.holder == self.swapoff[0].tid)

    def mapped_back(self, w: World) -> bool:
        pte = self.mm.ptes.get(self.addr // PAGE_SIZE)
        return (w.results.get("swapoff") == 0 and w.results.get("munmap") == 0
                and pte is not None and pte.present() and not w.k.swap_info[0].inuse_pages
                and invariants.check_all(w.k) == [])


async def _swapoff(w: World) -> None:
    w.results["swapoff"] = await swapfile.sys_swapoff(w.k, 0)


async def _munmap(w: World, mm: MmStruct, addr: int) -> None:
    w.results["munmap"] = await mmap.sys_munmap(w.k, mm, addr, PAGE_SIZE)


def build(version: str) -> tuple[Instance, Watch]:
    """B (in /A) has page P at ``addr``, swapped out to E, and a second mapping at
    ``other``. swapoff runs against a thread of B that munmaps ``other``."""
    w = swap_world(ScenarioOptions(version), page_cluster=0)
    b = new_task(w.k, w.memcg, "B")
    addr = mmap_touch(w.k, b, 1)
    other = mmap_touch(w.k, b, 1)
    swap_out(w.k, page_at(b, addr), w.memcg)
    assert b.mm is not None
    watch = Watch(w, b, b.mm, swp_at(b, addr), addr)
    props = [always("page-unlocked-while-swapoff-sleeps",
                    watch.unlocked_while_asleep),
             sometimes("swapoff-slept-on-mmap_sem", lambda _: watch.sleeping()),
             sometimes("page-relocked-under-mmap_sem", watch.relocked_under_mmap_sem),
             at_end("page-mapped-back-and-area-off", watch.mapped_back)]
    instance = new_instance(w, [("swapoff", _swapoff(w), Current(None, 0)),
                                ("B': munmap", _munmap(w, b.mm, other), Current(b, 1))],
                            props, execution=w.k.execution, max_steps=5_000,
                            name="swapoff-vs-munmap")
    watch.swapoff.append(instance.execution.threads[0])
    return instance, watch


def test_unuse_mm_drops_the_page_lock_while_it_sleeps_on_mmap_sem(version: str) -> None:
    """Every schedule dpor runs keeps the page unlocked while swapoff sleeps in
    down_read() (activate_page() finds it still in the lru_add pagevec, not PageLRU, so it
    stays inactive, as in C); some schedule has swapoff sleep, and then hold the page lock
    again under mmap_sem; every run ends with P mapped back and the area off."""
    result = explore(lambda: build(version)[0], Options(strategy="dpor", shrink=False))
    assert result.status == "clean", result.findings
    assert result.vacuous == []
    assert result.findings == [] and result.notes == []
    assert result.stats.executions == 5  # dpor's trace classes of the two threads
