"""The hunt's journal: finished cases on disk as they finish, read back to skip them."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from swaplab.hunt import run
from swaplab.hunt.journal import Journal, JournalError
from swaplab.hunt.triage import triage

CONFIG = run.HuntConfig("2.6.30", max_executions=5, generator="hunt_helpers",
                        retry_executions=0)
CASE = run.Explored("s|exit a|fault b", ("exit a", "fault b"), 5, False,
                    (run.Found("swap-slot-leak", "bug", "m", "0.1*3", ("do_exit()",)),), 1,
                    0.25)


def test_a_finished_case_is_read_back(tmp_path: Path) -> None:
    path = str(tmp_path / "j")
    with Journal(path, CONFIG.identity()) as journal:
        assert journal.finished == {}
        journal.append(CASE)
    lines = Path(path).read_text().splitlines()
    assert len(lines) == 2 and json.loads(lines[0])["hunt"]["kernel"] == "2.6.30"
    with Journal(path, CONFIG.identity()) as again:
        assert again.finished == {CASE.case: CASE}


def test_a_torn_last_line_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "j"
    with Journal(str(path), CONFIG.identity()) as journal:
        journal.append(CASE)
    whole = path.read_text()
    path.write_text(whole + whole.splitlines()[1][:20])  # killed while writing a line
    with Journal(str(path), CONFIG.identity()) as again:
        assert list(again.finished) == [CASE.case]
    assert path.read_text() == whole


@pytest.mark.parametrize(("text", "error"), [
    ("hello\n", "line 1 is not JSON"),
    ('{"a": 1}\n', "is not a hunt journal"),
    ('{"journal": "swaplab hunt", "version": 1, "hunt": {}}\n', "another hunt: kernel"),
    ("", None),
])
def test_a_file_that_is_not_this_hunts_journal_is_refused(tmp_path: Path, text: str,
                                                          error: str | None) -> None:
    path = tmp_path / "j"
    path.write_text(text)
    if error is None:  # empty: a new journal
        Journal(str(path), CONFIG.identity()).close()
        assert json.loads(path.read_text())["journal"] == "swaplab hunt"
        return
    with pytest.raises(JournalError, match=error):
        Journal(str(path), CONFIG.identity())
    assert path.read_text() == text  # nothing changed


def test_a_bad_case_line_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j"
    Journal(str(path), CONFIG.identity()).close()
    with path.open("a") as f:
        f.write('{"case": "x"}\n')
    with pytest.raises(JournalError, match="line 2 is not a finished case"):
        Journal(str(path), CONFIG.identity())


def test_a_journal_of_another_seed_is_refused(tmp_path: Path) -> None:
    path = str(tmp_path / "j")
    Journal(path, CONFIG.identity()).close()
    with pytest.raises(JournalError, match="seed 0, not 1"):
        Journal(path, dataclasses.replace(CONFIG, seed=1).identity())


def test_a_journal_records_the_second_search_cap_in_effect(tmp_path: Path) -> None:
    """The default cap given explicitly is the same hunt; a journal written when the
    default was another (an older FALLBACK_FACTOR) is another hunt's."""
    default = run.HuntConfig("2.6.30")
    path = str(tmp_path / "j")
    Journal(path, default.identity()).close()
    cap = run.MAX_EXECUTIONS * run.FALLBACK_FACTOR
    Journal(path, dataclasses.replace(default, retry_executions=cap).identity()).close()
    with pytest.raises(JournalError, match=f"retry_executions {cap}, not {cap // 2}"):
        Journal(path, dataclasses.replace(default, retry_executions=cap // 2).identity())


def test_a_resumed_hunt_skips_the_journaled_cases_and_loses_nothing(
        tmp_path: Path, config_2630: run.HuntConfig, hunt_2630: run.Hunt) -> None:
    path = str(tmp_path / "j")
    first_two = dataclasses.replace(config_2630, match="^(readahead\\|exit|quiet)")
    with Journal(path, config_2630.identity()) as journal:
        part = run.hunt(first_two, journal=journal)
    assert part.finished == 2
    with Journal(path, config_2630.identity()) as journal:
        resumed = run.hunt(config_2630, journal=journal)
        assert len(journal.finished) == 4
    assert resumed.resumed == 2 and resumed.finished == 4
    assert [e.case for e in resumed.explored] == [e.case for e in hunt_2630.explored]
    assert triage(resumed) == triage(hunt_2630)
