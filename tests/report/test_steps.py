"""A schedule recorded step by step: a state per step, the rows of the page's table, and
the step where each broken property became true."""

from __future__ import annotations

from swaplab.explore.replay import replay
from swaplab.report.html import schedule_trace
from swaplab.scenarios import get_scenario, parse_spec
from swaplab.scenarios.kernel_common import checking

TYPE1 = "type1,kernel=2.6.30:0.0.1*18.0*5.2.3.1*3"
#: 2/5's promise broken in a window of type1 with patches 1 and 2 (an always property)
HAS_CACHE = "type1,patches=1+2:0.0.1*8.0.0"


def test_a_state_and_a_row_per_step() -> None:
    trace = schedule_trace(TYPE1, "t")
    _, _, decisions = parse_spec(TYPE1)
    # the initial state, one per step, the state after the drain
    assert len(trace["states"]) == len(trace["steps"]) == len(decisions) + 2
    assert trace["columns"] == ["A: exit", "B: fault", "I/O completion"]
    texts = [e for step in trace["steps"] for e in step["events"]]
    assert "trylock_page() -> fail & return" in texts
    assert trace["outcome"] == "every thread finished"
    tables = trace["tables"]
    assert all(len(refs) == 5 and all(0 <= r < len(tables) for r in refs)
               for refs in trace["states"])


def test_at_end_property_true_from_a_step_and_decided_at_one() -> None:
    """A broken at_end property became true at the first state from which it reads
    violated through the end; it was decided at the first step from which the run breaks
    it even when every thread then runs on without preemption."""
    name, sopts, decisions = parse_spec(TYPE1)
    model = get_scenario(name).model(sopts)
    trace = schedule_trace(TYPE1, "t")
    whole = replay(model, decisions)
    assert [f["property"] for f in trace["failures"]] == [f.property for f in whole.failures]
    for failure in trace["failures"]:
        prop = next(p for p in trace["properties"] if p["name"] == failure["property"])
        first, holds = failure["state"], prop["holds"]
        assert first == prop["first"] and first > 0
        assert holds[first - 1] is not False and not any(holds[first:])
        step = failure["decided"]
        assert step == prop["decided"] and 0 < step < len(decisions)
        assert replay(model, decisions[:step], finish=True).violation(prop["name"])
        assert replay(model, decisions[:step - 1], finish=True).violation(prop["name"]) is None


def test_invariant_first_violated_at_its_step() -> None:
    name, sopts, decisions = parse_spec(HAS_CACHE)
    trace = schedule_trace(HAS_CACHE, "t", "has-cache-has-page")
    (prop,) = trace["properties"]
    (failure,) = trace["failures"]
    assert prop["name"] == failure["property"] == "has-cache-has-page" and prop["broken"]
    result = replay(checking(get_scenario(name).model(sopts), "has-cache-has-page"),
                    decisions)
    stopped = len(result.decisions)  # an invariant stops the run where it breaks
    assert failure["state"] == prop["first"] == stopped and failure["decided"] is None
    # checked where the swap state is settled only (None elsewhere): held until then
    checked = [h for h in prop["holds"][:stopped] if h is not None]
    assert prop["holds"][stopped] is False and checked and all(checked)
    assert None in prop["holds"][:stopped]
