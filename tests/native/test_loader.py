"""swaplab/native/__init__.py: which modules are compiled, where a build lives, and when a
process may import from it (never a build of other source, never beside plain copies)."""

from __future__ import annotations

import importlib.machinery
import subprocess
import sys
from pathlib import Path

import pytest

from swaplab import native
from swaplab.cache import code_version

SRC = Path(native.__file__).resolve().parents[2]


def test_compiled_modules_are_the_model_and_the_engine() -> None:
    names = native.modules_in(SRC)
    assert "swaplab/kernel/memory.py" in names and "swaplab/explore/dpor.py" in names
    assert "swaplab/workload/driver.py" in names
    # the state encoder reads frames; the pools choose how their workers import
    for plain in ("canonical.py", "backend.py", "parallel.py", "__init__.py"):
        assert f"swaplab/explore/{plain}" not in names
    assert not any(name.endswith("__init__.py") for name in names)
    assert not any(name.startswith(("swaplab/scenarios", "swaplab/native")) for name in names)


def test_build_dir_is_named_by_the_source_and_interpreter(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SWAPLAB_NATIVE_DIR", str(tmp_path))
    assert native.build_dir() == tmp_path / f"{code_version()}-{sys.implementation.cache_tag}"
    assert native.build_dir("0123") == tmp_path / f"0123-{sys.implementation.cache_tag}"


@pytest.mark.parametrize("value,wanted", [("", True), ("1", True), ("0", False),
                                          ("off", False), ("No", False)])
def test_the_setting_turns_the_build_off(monkeypatch: pytest.MonkeyPatch, value: str,
                                         wanted: bool) -> None:
    monkeypatch.setenv(native.SETTING, value)
    assert native.wanted() is wanted


def _fake_build(root: Path, version: str | None = None) -> Path:
    """A build directory with empty files named as mypyc's extensions are."""
    where = root / native.build_dir(version).name
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    (where / "swaplab" / "kernel").mkdir(parents=True)
    (where / "swaplab" / "kernel" / f"memory{suffix}").touch()
    (where / f"abc__mypyc{suffix}").touch()
    (where / "BUILT").touch()
    return where


def test_finder_maps_module_names_to_the_build(tmp_path: Path) -> None:
    where = _fake_build(tmp_path)
    finder = native._BuildFinder(where)
    assert sorted(finder.files) == ["abc__mypyc", "swaplab.kernel.memory"]
    spec = finder.find_spec("swaplab.kernel.memory", None)
    assert spec is not None and spec.origin == str(next(where.rglob("memory*.so")))
    assert finder.find_spec("swaplab.kernel.swapfile", None) is None


def test_no_build_for_this_source_means_plain(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    monkeypatch.setenv("SWAPLAB_NATIVE_DIR", str(tmp_path))
    _fake_build(tmp_path, "0" * 16)  # another source's build
    assert not native.built()
    assert native.enable() is False and not native.active()


def test_a_process_never_mixes_plain_and_compiled(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    """This process has imported the plain model: a build of its source is refused."""
    import swaplab.kernel.memory  # noqa: F401

    monkeypatch.setenv("SWAPLAB_NATIVE_DIR", str(tmp_path))
    _fake_build(tmp_path)
    assert native.built()
    before = list(sys.meta_path)
    assert native.enable() is False and not native.active()
    assert sys.meta_path == before


def test_enable_installs_the_finder_before_the_model_is_imported(tmp_path: Path) -> None:
    """A fresh process with a (fake) build of its source imports the model from it."""
    _fake_build(tmp_path)
    code = ("from swaplab import native; print(native.enable());"
            "import swaplab.kernel.memory")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={"SWAPLAB_NATIVE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
                          check=False)
    assert done.stdout.strip() == "True"
    # the empty file is no extension: the import went to the build, and failed there
    assert "ImportError" in done.stderr and "memory" in done.stderr
