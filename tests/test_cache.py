"""The result cache (swaplab/cache.py) and `swaplab claims` reading it back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from swaplab.cache import ResultCache, code_version
from swaplab.cli import main


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SWAPLAB_CACHE_DIR", str(tmp_path))
    return tmp_path


def test_a_result_comes_back_for_its_key_and_this_code_version(cache_dir: Path) -> None:
    cache = ResultCache("rows")
    assert cache.get("a") is None
    cache.put("a", {"verdict": "holds"})
    assert ResultCache("rows").get("a") == {"verdict": "holds"}
    assert ResultCache("rows").get("b") is None and ResultCache("other").get("a") is None
    assert ResultCache("rows", read=False).get("a") is None
    assert cache.directory == cache_dir / "rows" / code_version()
    assert [p.suffix for p in cache.directory.iterdir()] == [".json"]  # no temporary left


def test_an_unreadable_entry_is_a_miss(cache_dir: Path) -> None:
    cache = ResultCache("rows")
    cache.put("a", {"x": 1})
    (entry,) = cache.directory.iterdir()
    entry.write_text("{not json")
    assert cache.get("a") is None


def test_claims_are_read_back_and_no_cache_decides_again(
        cache_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def rows(*extra: str) -> list[dict[str, object]]:
        assert main(["claims", "--json", "--explore-only", *extra]) == 0
        out: list[dict[str, object]] = json.loads(capsys.readouterr().out)
        return out

    first = rows()
    decided = [r for r in first if not str(r["verdict"]).startswith("not yet")]
    assert decided and not any(r.get("cached") for r in first)
    second = rows()
    assert [r["verdict"] for r in second] == [r["verdict"] for r in first]
    assert [bool(r.get("cached")) for r in second] == [r in decided for r in first]
    again = rows("--no-cache")
    assert not any(r.get("cached") for r in again)
    assert [r["verdict"] for r in again] == [r["verdict"] for r in first]
