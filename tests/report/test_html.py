"""The HTML pages in a real headless Chromium: they load with no console error and no
request, the arrow keys and the slider step the trace and change the state panel, the
broken property is shown at the step where it became true, and a claims page links each
evidence to its trace."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import Loaded
from playwright.sync_api import expect

from swaplab.claims import CLAIMS, Check, Claim, decide
from swaplab.report.html import claims_page, replay_page, schedule_trace

#: one worker runs the browser tests: one browser for the whole session
pytestmark = pytest.mark.xdist_group("browser")

#: cover letter Type-2 on 2.6.30 (README's replay): an orphan and a leaked slot
TYPE2 = "type2,kernel=2.6.30:0*5.1*10.0"


@pytest.fixture(scope="module")
def type2_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("html") / "type2.html"
    path.write_text(replay_page(TYPE2))
    return path


@pytest.fixture(scope="module")
def type2_trace() -> dict[str, Any]:
    return schedule_trace(TYPE2, "")


def step_of(loaded: Loaded) -> int:
    return int(loaded.page.locator("section.trace").first.get_attribute("data-step"))


def panel(loaded: Loaded) -> str:
    """The state panel's text: the properties and the rows of the state (not the rows
    struck out because they went at this step)."""
    return str(loaded.page.locator(".panel").first.evaluate(
        "p => Array.from(p.querySelectorAll('li, tr:not(.removed)'))"
        ".map(r => r.innerText).join('\\n')"))


def test_page_is_self_contained(type2_page: Path) -> None:
    text = type2_page.read_text()
    assert not re.search(r"https?://|<link|\ssrc=|@import", text)


def test_loads_without_error_or_request(open_page: Any, type2_page: Path,
                                        type2_trace: dict[str, Any]) -> None:
    loaded = open_page(type2_page)
    assert step_of(loaded) == 0
    rows = loaded.page.locator(".steps tbody tr")
    assert rows.count() == len(type2_trace["steps"])
    heads = loaded.page.locator(".steps thead th").all_inner_texts()
    assert heads[1:3] == ["A: exit", "R: reclaim"]
    assert loaded.errors == [] and loaded.requests == []


def test_keys_step_and_change_the_state_panel(open_page: Any, type2_page: Path,
                                              type2_trace: dict[str, Any]) -> None:
    loaded = open_page(type2_page)
    page, last = loaded.page, len(type2_trace["states"]) - 1
    seen = [panel(loaded)]
    for n in range(1, last + 1):
        page.keyboard.press("ArrowRight")
        assert step_of(loaded) == n
        seen.append(panel(loaded))
    page.keyboard.press("ArrowRight")  # past the end: stays
    assert step_of(loaded) == last
    page.keyboard.press("ArrowLeft")
    assert step_of(loaded) == last - 1 and panel(loaded) == seen[last - 1]
    page.keyboard.press("Home")
    assert step_of(loaded) == 0 and panel(loaded) == seen[0]
    changed = [n for n in range(1, last + 1)
               if type2_trace["states"][n] != type2_trace["states"][n - 1]]
    assert changed and all(seen[n] != seen[n - 1] for n in changed)
    # the step where the page enters the swap cache: its row marked new, nrpages changed
    cache = [{row[0]: row for row in table["rows"]} for table in
             (type2_trace["tables"][refs[1]] for refs in type2_trace["states"])]
    n = next(n for n in range(1, last + 1) if len(cache[n]) > len(cache[n - 1]))
    (entry,) = set(cache[n]) - set(cache[n - 1])
    for _ in range(n):
        page.keyboard.press("ArrowRight")
    table = page.locator(".panel table[data-title^='swap cache']")
    assert table.locator("tr.added td").first.inner_text() == entry
    changed = table.locator("td.changed")
    assert changed.all_inner_texts() == [cache[n]["nrpages"][1]]
    assert changed.get_attribute("title") == f"was: {cache[n - 1]['nrpages'][1]}"
    assert loaded.errors == []


def test_slider_steps(open_page: Any, type2_page: Path,
                      type2_trace: dict[str, Any]) -> None:
    loaded = open_page(type2_page)
    page, last = loaded.page, len(type2_trace["states"]) - 1
    slider = page.locator("input[type=range]").first
    box = slider.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.8, box["y"] + box["height"] / 2)
    middle = step_of(loaded)
    assert 0 < middle < last
    assert page.locator(".steps tr.current").get_attribute("data-step") == str(middle)
    before = panel(loaded)
    slider.press("ArrowLeft")  # the slider's own key: one step, not two
    assert step_of(loaded) == middle - 1
    slider.press("Home")
    assert step_of(loaded) == 0 and panel(loaded) != before
    assert loaded.errors == []


def test_broken_property_at_its_step(open_page: Any, type2_page: Path,
                                     type2_trace: dict[str, Any], tmp_path: Path) -> None:
    loaded = open_page(type2_page)
    page = loaded.page
    failure = next(f for f in type2_trace["failures"] if f["property"] == "swap-slot-leak")
    step, decided = failure["state"], failure["decided"]
    box = page.locator(".broken[data-property='swap-slot-leak']")
    assert f"became true at step {step}" in box.inner_text()
    assert f"decided at step {decided}" in box.inner_text()
    assert "used but no task references it" in box.inner_text()
    box.locator("button").first.click()
    assert step_of(loaded) == step
    row = page.locator(f".steps tr[data-step='{step}']")
    assert "decides" in (row.get_attribute("class") or "")
    assert "swap-slot-leak true from here" in row.inner_text()
    prop = page.locator(".panel li[data-property='swap-slot-leak']")
    assert prop.get_attribute("class") == "bad"
    assert f"broken at the end, true from step {step}, decided at step {decided}" in \
        prop.inner_text()
    page.keyboard.press("ArrowLeft")  # the state before: the slot still referenced
    assert prop.get_attribute("class") == "ok"
    box.locator("button").nth(1).click()
    assert step_of(loaded) == decided
    assert "swap-slot-leak decided" in page.locator(f".steps tr[data-step='{decided}']"
                                                    ).inner_text()
    shot = tmp_path / "type2-step.png"
    box.locator("button").first.click()
    page.screenshot(path=str(shot))
    assert shot.read_bytes().startswith(b"\x89PNG")
    assert loaded.errors == []


def test_engine_model_page(open_page: Any, tmp_path: Path) -> None:
    from swaplab.cli import main

    path = tmp_path / "lost.html"
    assert main(["check", "tiny-lost-update", "--jobs", "1", "--html", str(path)]) == 1
    loaded = open_page(path)
    assert loaded.page.locator(".panel table").count() == 1  # a field-by-field state
    first = panel(loaded)
    assert "state.cell.value" in first
    loaded.page.keyboard.press("End")
    assert panel(loaded) != first
    assert loaded.errors == [] and loaded.requests == []


def test_claims_page_links_each_evidence(open_page: Any, tmp_path: Path) -> None:
    type2 = next(c for c in CLAIMS if c.claim.startswith("Type-2"))
    # a second claim of one check (of the 4/5 row), for a second trace
    with_4 = Claim("Type-2's slot leak stays with 1, 2 and 4/5",
                   (Check("type2", "swap-slot-leak", True, patches=("1", "2", "4")),))
    rows = [decide(type2), decide(with_4)]
    path = tmp_path / "claims.html"
    path.write_text(claims_page(rows))
    loaded = open_page(path)
    page = loaded.page
    cells = page.locator("table.claims td.verdict-holds")
    assert cells.all_inner_texts() == [row["verdict"] for row in rows] == ["holds"] * 2
    links = page.locator("table.claims a")
    assert links.count() == 3  # each check that found its violation
    assert [links.nth(n).get_attribute("href") for n in range(3)] == [
        "#trace-0", "#trace-0", "#trace-1"]  # the first claim's two share one schedule
    links.nth(2).click()
    second = page.locator("#trace-1")
    # the page's click handler runs after the click returns: wait for it (up to 5 s)
    expect(second).to_have_class(re.compile(r"\bactive\b"))
    page.keyboard.press("ArrowRight")
    assert second.get_attribute("data-step") == "1"
    assert page.locator("#trace-0").get_attribute("data-step") == "0"
    page.screenshot(path=str(tmp_path / "claims.png"), full_page=True)
    assert loaded.errors == [] and loaded.requests == []


def test_bad_path_is_one_line_and_exit_2(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    from swaplab.cli import main

    missing = tmp_path / "no" / "page.html"
    for argv in (["replay", TYPE2], ["check", "tiny-lost-update"], ["claims"]):
        assert main([*argv, "--html", str(missing)]) == 2
        out, err = capsys.readouterr()
        assert out == "" and err.count("\n") == 1 and "no such directory" in err
    assert main(["replay", TYPE2, "--html", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_finding_that_does_not_replay_is_said_so() -> None:
    from swaplab.explore.explorer import explore
    from swaplab.explore.search import Options
    from swaplab.report.html import check_page
    from swaplab.scenarios import get_scenario

    result = explore(get_scenario("tiny-lost-update").model(), Options(strategy="dpor"))
    assert result.findings
    page = check_page(result, "tiny-lost-update", lambda decisions: "tiny-lost-update:7")
    assert "finding 1: tiny-lost-update:7: no trace, the schedule does not replay" in page


def test_hunt_page_steps_through_a_finding(open_page: Any, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """`swaplab hunt --html` on the generator's Type-2 pair: the summary names the known
    race, and its trace steps with the keys and changes the state panel."""
    from swaplab.cli import main

    path = tmp_path / "hunt.html"
    case = r"^s02-resident\|exit 1\|kswapd A:0$"
    assert main(["hunt", "--kernel", "2.6.30", "--cases", case, "--jobs", "1",
                 "--html", str(path)]) == 1
    capsys.readouterr()
    loaded = open_page(path)
    page = loaded.page
    assert "Type-2" in page.locator("body").inner_text()
    trace = page.locator("section.trace").first
    assert "s02-resident|exit 1|kswapd A:0" in trace.inner_text()
    seen = [panel(loaded)]
    for n in range(1, 6):
        page.keyboard.press("ArrowRight")
        assert trace.get_attribute("data-step") == str(n)
        seen.append(panel(loaded))
    assert len(set(seen)) > 1  # the state panel follows the steps
    page.screenshot(path=str(tmp_path / "hunt.png"), full_page=True)
    assert loaded.errors == [] and loaded.requests == []
