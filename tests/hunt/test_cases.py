"""The generated cases: deterministic, each a pair sharing an object, each buildable into
a race; a Type-1 case found on 2.6.30 and clean on 2.6.31."""

from __future__ import annotations

import pytest

from swaplab.hunt.cases import Case, build, cases
from swaplab.hunt.states import CATALOGUE


@pytest.fixture(scope="module")
def pairs_2631() -> list[Case]:
    return cases("2.6.31")


def test_cases_are_deterministic(pairs_2631: list[Case]) -> None:
    again = cases("2.6.31")
    assert again == pairs_2631
    assert len({c.key() for c in pairs_2631}) == len(pairs_2631)
    assert {c.state for c in pairs_2631} == set(CATALOGUE)
    assert cases("2.6.31", seed=5) == cases("2.6.31", seed=5)


def test_a_pair_shares_an_object_and_one_task_makes_one_call(
        pairs_2631: list[Case]) -> None:
    for c in pairs_2631:
        assert len(c.ops) == 2 and c.objects, c
        pids = [op.split()[1] for op in c.ops if op.split()[0] in _TASK_OPS]
        assert len(pids) == len(set(pids)), c
    assert Case("s", ("exit 1", "touch 2 B:0"), ()).key() == "s|exit 1|touch 2 B:0"


_TASK_OPS = {"exit", "touch", "write", "munmap", "madvise", "fork", "mlock", "move"}


def test_triples_share_an_object_too() -> None:
    triples = cases("2.6.31", depth=3)
    assert triples and all(len(c.ops) == 3 and c.objects for c in triples)
    assert len(triples) < len(cases("2.6.31")) * 4
    with pytest.raises(ValueError, match="depth"):
        cases("2.6.31", depth=4)


def test_build_labels_the_operations_in_order() -> None:
    case = Case("s01-swapped-neighbours", ("exit 1", "touch 2 B:0"), ("slot 1",))
    s, ops = build(case, "2.6.31")
    assert list(ops) == ["A: exit 1", "B: touch 2 B:0"]
    assert s.check_invariants() == []
    with pytest.raises(ValueError, match="no operation"):
        build(Case(case.state, ("exit 9", "exit 1"), ()), "2.6.31")


@pytest.mark.parametrize("kernel", ["2.6.30", "2.6.31"])
def test_type1_pair_found_on_2630_clean_on_2631(kernel: str) -> None:
    """Task 1 unmaps its swapped-out page (free_swap_and_cache of its slot) while task
    2's swap-in reads that slot ahead: the cover letter's Type-1 on 2.6.30; 2.6.31
    leaves at most a note."""
    case = next(c for c in cases(kernel) if c.key() ==
                "s01-swapped-neighbours|munmap 1 A|touch 2 B:0")
    assert "slot 1" in case.objects
    s, ops = build(case, kernel)
    r = s.race(ops, first=kernel == "2.6.30")
    print(r)
    found = {f.property for f in r.findings}
    if kernel == "2.6.30":
        assert "memcg-accounting" in found
    else:
        assert r.clean and not found


@pytest.mark.parametrize("kernel", ["2.6.30", "2.6.31"])
def test_type2_pair_found_on_2630_clean_on_2631(kernel: str) -> None:
    """Task 1 exits while kswapd reclaims its page (add_to_swap, pageout): the page enters
    the swap cache after its uncharge, the cover letter's Type-2 on 2.6.30."""
    case = next(c for c in cases(kernel) if c.key() == "s02-resident|exit 1|kswapd A:0")
    assert case.objects == ("page A:0",)
    s, ops = build(case, kernel)
    r = s.race(ops, first=kernel == "2.6.30")
    print(r)
    if kernel == "2.6.30":
        assert "swap-slot-leak" in {f.property for f in r.findings}
        functions = {e.function for e in r.findings[0].trace}
        assert {"page_remove_rmap()", "add_to_swap_cache()"} <= functions
    else:
        assert r.clean
