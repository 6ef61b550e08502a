"""README tells the truth: every command it shows runs, and prints what README says.

The commands are read from README's ``sh`` and ``python`` blocks; :data:`CHECKS` holds,
for each, what its comment in README promises, as assertions. A command README adds
without a check here, or a check whose command README dropped, fails the first test. The
commands run as the user would run them (``swaplab`` from this environment, in a fresh
directory), two at a time, once per test session.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SETUP = "python3 -m venv .venv && . .venv/bin/activate && pip install -q -e '.[dev]' && "


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str
    cwd: Path


def blocks(language: str) -> list[str]:
    text = README.read_text()
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


def sh_commands() -> list[str]:
    """Every command line of README's sh blocks, its comment cut off."""
    out = []
    for block in blocks("sh"):
        for line in block.splitlines():
            command = re.sub(r"\s+#.*$", "", line).strip()
            if command:
                out.append(command)
    return out


def _claims(r: Ran) -> None:
    assert r.code == 0, r.err
    assert re.match(r"\d+ modules compiled with mypyc, (built in|already built)", r.out)
    verdicts = re.findall(r"^\s*(\d+)\. (holds|partly|does not hold|not yet decided)\s",
                          r.out, flags=re.M)
    assert len(verdicts) >= 14
    assert verdicts[0] == ("1", "holds")  # Type-1 exists in 2.6.30


def _scenarios(r: Ran) -> None:
    names = [line.split()[0] for line in r.out.splitlines()]
    assert r.code == 0 and "type1" in names and "type2" in names


def _type1_30(r: Ran) -> None:
    assert r.code == 1 and r.out.startswith("type1: found (dpor, fair schedules)")
    assert re.search(r"^A: exit\s+\| B: fault", r.out, flags=re.M)  # the two-column table
    assert "trylock_page() -> fail & return" in r.out


def _type1_31_json(r: Ran) -> None:
    data = json.loads(r.out)
    assert r.code == 0 and data["result"] == "clean" and data["findings"] == []
    assert data["statistics"]["executions"] > 1
    assert [n["property"] for n in data["notes"]] == ["memcg-lru-visibility"]
    assert data["notes"][0]["kind"] == "note"


def _type1_31_pc0(r: Ran) -> None:
    assert r.code == 0 and r.out.startswith("type1: clean")
    assert "vacuity warnings:" in r.out and "readahead-covers-E" in r.out


def _type2_124(r: Ran) -> None:
    assert r.code == 1 and r.out.startswith("type2: found")
    assert "swap-slot-leak" in r.out


def _replay(r: Ran) -> None:
    assert r.code == 0 or r.code == 1
    assert "memcg-lru-visibility: orphan swap cache page" in r.out
    assert "A: exit" in r.out and "R: reclaim" in r.out


def _replay_html(r: Ran) -> None:
    _replay(r)
    page = (r.cwd / "type2.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and 'id="swaplab-data"' in page
    assert "http://" not in page and "https://" not in page  # self-contained


def _ltp(r: Ran) -> None:
    assert r.code == 0 and r.out.rstrip().endswith("invariants: ok")


def _stale(r: Ran) -> None:
    assert r.code == 0, r.err
    row = re.search(r"memsw_usage /A\s*│\s*(\d+) / \d+\s*│\s*(\d+) / \d+", r.out)
    assert row is not None, r.out
    assert int(row.group(1)) > int(row.group(2))  # 2.6.30 leaks, 2.6.31 does not
    assert (r.cwd / "stale.png").read_bytes().startswith(b"\x89PNG")


def _swap_full(r: Ran) -> None:
    data = json.loads(r.out)
    assert r.code == 0 and data["kernel"] == "2.6.30"
    assert data["summary"]["cache_only_slots"]["final"] > 0


CHECKS: dict[str, Callable[[Ran], None]] = {
    "swaplab build && swaplab claims": _claims,
    "swaplab scenarios": _scenarios,
    "swaplab check type1 --kernel 2.6.30": _type1_30,
    "swaplab check type1 --kernel 2.6.31 --json": _type1_31_json,
    "swaplab check type1 --kernel 2.6.31 --page-cluster 0": _type1_31_pc0,
    "swaplab check type2 --patches 1,2,4": _type2_124,
    "swaplab replay 'type2,kernel=2.6.30:0*5.1*10.0'": _replay,
    "swaplab replay 'type2,kernel=2.6.30:0*5.1*10.0' --html type2.html": _replay_html,
    "swaplab sh examples/ltp-basic.sh": _ltp,
    "swaplab simulate stale-swapcache --compare 2.6.30,2.6.31 --seed 1 --plot stale.png":
        _stale,
    "swaplab simulate swap-full --kernel 2.6.30 --duration 20s --json": _swap_full,
}

#: README's test command: what .ci/run runs (checked against it, not run from here).
TEST_COMMAND = SETUP + "ruff check . && mypy && python -m pytest"


def runnable(command: str) -> str:
    """The part of a README command a test runs: the set-up prefix is CI's job."""
    return command.removeprefix(SETUP)


def _run(command: str, cwd: Path) -> Ran:
    cwd.mkdir(parents=True)
    (cwd / "examples").symlink_to(ROOT / "examples")
    bindir = Path(sys.executable).parent  # where this environment's `swaplab` is
    done = subprocess.run(["bash", "-c", command], cwd=cwd, capture_output=True, text=True,
                          timeout=900, check=False,
                          env={"PATH": f"{bindir}:/usr/bin:/bin", "COLUMNS": "200",
                               "HOME": str(cwd),
                               "SWAPLAB_NATIVE_DIR": os.environ["SWAPLAB_NATIVE_DIR"]})
    # (not SWAPLAB_NATIVE: README's commands run as a user's would, compiled once built)
    return Ran(done.returncode, done.stdout, done.stderr, cwd)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Ran]]:
    """Every README command run once, two at a time (the slow ones first)."""
    base = tmp_path_factory.mktemp("readme")
    commands = [runnable(c) for c in sh_commands() if runnable(c) in CHECKS]
    commands.sort(key=lambda c: ("simulate" not in c and "claims" not in c, c))
    with ThreadPoolExecutor(max_workers=2) as pool:
        ran = pool.map(lambda ic: _run(ic[1], base / f"c{ic[0]}"), enumerate(commands))
        yield dict(zip(commands, ran, strict=True))


def test_every_readme_command_has_a_check() -> None:
    commands = sh_commands()
    assert TEST_COMMAND in commands
    assert sorted(runnable(c) for c in commands if c != TEST_COMMAND) == sorted(CHECKS)
    ci = (ROOT / ".ci" / "run").read_text()
    assert TEST_COMMAND.removeprefix("python3 -m venv .venv && ") in ci


@pytest.mark.parametrize("command", sorted(CHECKS))
def test_readme_command_prints_what_readme_says(results: dict[str, Ran], command: str) -> None:
    if "--plot" in command:
        pytest.importorskip("matplotlib")  # the plot needs the "plot" extra
    CHECKS[command](results[command])


def test_readme_python_example(capsys: pytest.CaptureFixture[str]) -> None:
    example = blocks("python")[0]
    exec(compile(example, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "total_rss" in out or "rss " in out  # /G's memory.stat
    assert "MemTotal:" in out and "SwapTotal:" in out  # /proc/meminfo
    assert "pages in swap cache" in out  # sysrq-m's swap-cache lines


def test_readme_race_example(capsys: pytest.CaptureFixture[str]) -> None:
    """The race API's block: Type-1 found on 2.6.30 from a state made with System calls,
    its replay, and assert_clean passing on 2.6.31 without readahead."""
    example = blocks("python")[1]
    exec(compile(example, "README.md", "exec"), {})
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ("found ['mem_cgroup-refcnt', 'memcg-accounting', "
                        "'memcg-lru-visibility', 'swap-slot-leak']")
    assert "swap_entry_free()" in "\n".join(lines)
    assert any(line.startswith("broken: memcg-accounting: memsw.usage of /A is 4096 too high")
               for line in lines)
