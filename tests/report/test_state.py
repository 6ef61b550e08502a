"""The state tables of the trace pages: a kernel scenario's machine read as the kernel
keeps it (swap_map, swap cache, pages, memcgs, ptes); any other state field by field."""

from __future__ import annotations

from swaplab.explore.model import Instance
from swaplab.explore.runner import execute
from swaplab.report.state import Table, snapshot
from swaplab.scenarios import get_scenario, parse_spec

#: cover letter Type-1 on 2.6.30: B's readahead leaves page#0 orphaned in the swap cache
#: on slot 0x1, whose swap record still charges /A
TYPE1 = "type1,kernel=2.6.30:0.0.1*18.0*5.2.3.1*3"


def rows(tables: list[Table], title: str) -> dict[str, list[str]]:
    table = next(t for t in tables if t["title"].startswith(title))
    return {row[0]: row for row in table["rows"]}


def type1_instance(steps: int | None = None) -> Instance:
    """The Type-1 machine after the first ``steps`` steps (all: after the drain)."""
    name, sopts, decisions = parse_spec(TYPE1)
    got: list[Instance] = []
    execute(get_scenario(name).model(sopts), decisions[:steps] if steps is not None
            else decisions, on_instance=got.append)
    return got[0]


def test_initial_kernel_state() -> None:
    tables = snapshot(type1_instance(0).state)
    assert [t["title"].split()[0] for t in tables] == ["swap_map", "swap", "pages", "memcgs",
                                                       "ptes"]
    ptes = rows(tables, "ptes")
    entries = sorted(row[1].removeprefix("swap entry ") for row in ptes.values())
    assert entries == ["0x1", "0x2"]  # A's and B's pages are swapped out
    slots = rows(tables, "swap_map")
    assert sorted(slots) == entries
    for entry in entries:
        slot = slots[entry]
        assert slot[3] == "1" and slot[4] == "" and slot[5].startswith("/A")
    assert rows(tables, "pages") == {}
    memcgs = rows(tables, "memcgs")
    assert memcgs["/A"][2] == "2 pages" and memcgs["/A"][5] == "0x1 0x2"


def test_type1_orphan_and_stale_record() -> None:
    tables = snapshot(type1_instance().state)
    slot = rows(tables, "swap_map")["0x1"]
    assert slot[1:5] == ["0x1", "count 1", "0", "page#0"]  # the cache's count, no pte
    assert slot[5].startswith("/A")  # the record no task references
    assert rows(tables, "swap cache")["0x1"][1] == "page#0"
    page = rows(tables, "pages")["page#0"]
    assert "swapcache" in page[1].split() and page[5] == "0x1"
    assert page[6].startswith("!USED")  # uncharged: memcg reclaim cannot see it


def test_other_states_field_by_field() -> None:
    instance = get_scenario("tiny-lost-update").model()()
    try:
        (table,) = snapshot(instance.state)
    finally:
        instance.execution.close()
    fields = dict(table["rows"])
    assert fields["state.cell.value"] == "0"
    assert fields["state.lock"] == "lock L: free"
    assert snapshot(None) == []
