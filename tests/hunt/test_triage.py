"""Triage: deduplication, known-race labels, the table and the JSON, on synthetic findings."""

from __future__ import annotations

import shlex

from hunt_helpers import Case

from swaplab.hunt.run import Explored, Found, Hunt, HuntConfig
from swaplab.hunt.triage import hunt_json, known_race, render, replay_command, triage

TYPE1 = ("do_exit()", "free_swap_and_cache()", "read_swap_cache_async()", "swap_readpage()")
TYPE2 = ("add_to_swap()", "do_exit()", "page_remove_rmap()", "pageout()", "shrink_page_list()")
CONFIG = HuntConfig("2.6.30", fixes=("4969c1192d15",), seed=7)


def _found(prop: str, functions: tuple[str, ...], schedule: str = "0.1",
           message: str = "m") -> Found:
    return Found(prop, "bug", message, schedule, functions)


def _explored(case: str, *found: Found) -> Explored:
    return Explored(case, tuple(case.split("|")[1:]), 10, True, found, 0, 0.1)


def _hunt(*explored: Explored) -> Hunt:
    cases = [Case(e.case.split("|")[0], e.ops, ()) for e in explored]
    return Hunt(CONFIG, cases, list(explored), 1.0)


def test_the_same_property_in_the_same_functions_is_one_finding_counted() -> None:
    h = _hunt(_explored("s1|exit a|fault b", _found("memcg-accounting", TYPE1, "0.1"),
                        _found("swap-slot-leak", TYPE1)),
              _explored("s2|exit a|reclaim", _found("swap-slot-leak", TYPE2)),
              _explored("s3|exit b|fault a", _found("memcg-accounting", TYPE1, "1.0")))
    rows = triage(h)
    assert [(r.id, r.found.property, r.count, r.case) for r in rows] == [
        ("F1", "memcg-accounting", 2, "s1|exit a|fault b"),
        ("F2", "swap-slot-leak", 1, "s1|exit a|fault b"),
        ("F3", "swap-slot-leak", 1, "s2|exit a|reclaim")]
    assert rows[0].found.schedule == "0.1"  # the first case's witness
    assert rows[0].operations == ("exit a", "fault b")


def test_exceptions_of_different_types_are_different_findings() -> None:
    h = _hunt(_explored("s|a|b", _found("exception", (), message="KernelBug: BUG_ON x"),
                        _found("exception", (), message="UseAfterFree: page#3")))
    assert [r.found.key for r in triage(h)] == ["exception:KernelBug",
                                                 "exception:UseAfterFree"]


def test_known_races_are_labelled() -> None:
    assert known_race(_found("memcg-accounting", TYPE1)) == "Type-1"
    munmap = (*(f for f in TYPE1 if f != "do_exit()"), "do_munmap()")
    assert known_race(_found("swap-slot-leak", munmap)) == "Type-1"
    dontneed = (*(f for f in TYPE1 if f != "do_exit()"), "madvise_dontneed()")
    assert known_race(_found("mem_cgroup-refcnt", dontneed)) == "Type-1"  # a zap too
    assert known_race(_found("memcg-lru-visibility", TYPE2)) == "Type-2"
    new_slot = ("add_to_swap()", "add_to_swap_cache()", "get_swap_page()", "page_remove_rmap()",
                "read_swap_cache_async()", "shrink_page_list()", "swap_entry_free()")
    assert known_race(_found("swap-slot-leak", new_slot)) == "readahead vs a swap-out's new slot"
    assert known_race(_found("swap-slot-leak", (*new_slot, "shmem_getpage()"))) == \
        "readahead vs a swap-out's new slot"  # shmem_writepage()'s slot: the same window
    shmem = ("add_to_swap_cache()", "delete_from_swap_cache()", "read_swap_cache_async()",
             "shmem_getpage()", "swap_entry_free()")  # 2.6.30's two faults on a shmem page
    assert known_race(_found("swap-slot-leak", shmem)) == "Type-1 (shmem)"
    no_readahead = tuple(f for f in shmem if f != "read_swap_cache_async()")
    assert known_race(_found("swap-slot-leak", no_readahead)) is None
    assert known_race(_found("data-integrity", ("do_swap_page()", "do_wp_page()"))) == \
        "swapin race (4969c1192d15, 31c4a3d3a0f8)"
    assert known_race(_found("soft-lockup", ("discard_swap_cluster()",
                                             "swapcache_prepare()"))) == \
        "discard lockup (cbab0e4eec29)"
    assert known_race(_found("soft-lockup", ("radix_tree_preload()",
                                             "swapcache_prepare()"))) == \
        "preload lockup (31a5639623a4)"
    rmdir = ("__mem_cgroup_free()", "cgroup_rmdir()", "do_exit()", "mem_cgroup_force_empty()",
             "mem_cgroup_uncharge()", "mem_cgroup_uncharge_swap()")
    uaf = "KernelBug: use-after-free: mem_cgroup_del_lru_list() touches memcg(/A)"
    assert known_race(Found("exception", "bug", uaf, "0.1", rmdir)) == \
        "rmdir use-after-free (fce66477578d)"
    assert known_race(Found("exception", "bug", "KernelBug: BUG_ON x", "0.1", rmdir)) is None
    null = ("KernelBug: NULL pointer dereference: valid_swaphandles() reads swap_map[1] of "
            "swap area 0, which sys_swapoff() freed (swap_map NULL, max 0)")
    for functions in (("read_swap_cache_async()", "end_swap_bio_read()"),
                      ("delete_from_swap_cache()", "sys_swapoff()")):  # 2.6.31's two
        assert known_race(Found("exception", "bug", null, "0.1", functions)) == \
            "swapoff vs swap-in (eb085574a752)"
    # the functions without the property, or the property without the functions: unknown
    assert known_race(_found("invariants", TYPE1)) is None
    assert known_race(_found("memcg-accounting", ("do_exit()", "read_swap_cache_async()"))) \
        is None


def test_the_json_has_the_documented_keys() -> None:
    h = _hunt(_explored("s1|exit a|fault b", _found("memcg-accounting", TYPE1)))
    data = hunt_json(h, triage(h))
    assert list(data) == ["kernel", "patches", "fixes", "seed", "states", "pairs",
                          "executions", "elapsed", "complete", "findings"]
    assert (data["kernel"], data["fixes"], data["seed"], data["pairs"]) == \
        ("2.6.30", ["4969c1192d15"], 7, 1)
    assert data["complete"] is True and data["executions"] == 10
    (finding,) = data["findings"]
    assert list(finding) == ["id", "property", "kind", "message", "operations", "functions",
                             "known", "count", "schedule", "replay"]
    assert finding["known"] == "Type-1" and finding["functions"] == list(TYPE1)


def test_the_replay_command_quotes_the_case_and_schedule() -> None:
    text = replay_command(CONFIG, "s 1|exit a|fault b", "1*18.0*5")
    assert shlex.split(text) == ["swaplab", "hunt", "--kernel", "2.6.30", "--fixes",
                                 "4969c1192d15", "--seed", "7", "--replay",
                                 "s 1|exit a|fault b", "--schedule", "1*18.0*5"]


def test_the_table_lists_each_finding_and_its_replay() -> None:
    h = _hunt(_explored("s1|exit a|fault b", _found("memcg-accounting", TYPE1)),
              _explored("s2|exit a|reclaim"))
    text = render(h, triage(h))
    assert text.startswith("hunt on 2.6.30 + 4969c1192d15, seed 7, depth 2: "
                           "1 distinct finding\n")
    row = next(line for line in text.splitlines() if line.startswith("F1 "))
    assert row.split() == ["F1", "memcg-accounting", "bug", "1", "Type-1", "s1:", "exit",
                           "a", "||", "fault", "b"]
    assert "  F1: swaplab hunt --kernel 2.6.30" in text
    assert render(_hunt(), []).startswith("hunt on 2.6.30 + 4969c1192d15, seed 7, depth 2: "
                                          "0 distinct findings\n")
