"""swaplab/native/build.py: the marks the copy gets, and ``swaplab build``."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

from swaplab.native import build_dir
from swaplab.native.build import Built, mark_classes, mark_constants

SOURCE = textwrap.dedent('''\
    """A module."""

    from __future__ import annotations

    from dataclasses import dataclass


    @dataclass(frozen=True, slots=True)
    class Config:
        base: str = "2.6.31"


    @dataclass(slots=True)
    class Record:
        step: int


    class Pvecs(list[int]):
        pass


    class Page:
        __slots__ = ("flags",)


    class Special(Page):
        pass


    class KernelBug(Exception):
        pass
    ''')


def _marked(tmp_path: Path, source: str, mark: Callable[[Path], None]) -> str:
    """``source`` as ``mark`` leaves it (in a file of ``tmp_path``)."""
    path = tmp_path / "m.py"
    path.write_text(source)
    mark(path)
    return path.read_text()


def test_marks(tmp_path: Path) -> None:
    text = _marked(tmp_path, SOURCE, mark_classes)
    assert "from __future__ import annotations\n\nfrom mypy_extensions import mypyc_attr\n" in text
    # a frozen dataclass is thawed, with the same hash; every class of ours allows
    # interpreted subclasses; a list subclass stays a Python class; an exception is left
    assert ("@mypyc_attr(allow_interpreted_subclasses=True)\n"
            "@dataclass(slots=True, unsafe_hash=True)\nclass Config:") in text
    assert ("@mypyc_attr(allow_interpreted_subclasses=True)\n"
            "@dataclass(slots=True)\nclass Record:") in text
    assert "@mypyc_attr(native_class=False)\nclass Pvecs(list[int]):" in text
    assert "@mypyc_attr(allow_interpreted_subclasses=True)\nclass Page:" in text
    assert "@mypyc_attr(allow_interpreted_subclasses=True)\nclass Special(Page):" in text
    assert "\n\nclass KernelBug(Exception):" in text
    assert text.count("@mypyc_attr") == 5
    compile(text, "m.py", "exec")


def test_a_module_without_classes_is_left_alone(tmp_path: Path) -> None:
    source = '"""Functions."""\n\n\ndef f() -> int:\n    return 1\n'
    assert _marked(tmp_path, source, mark_classes) == source


def test_swaplab_build_reuses_the_build_of_this_source(built: Built) -> None:
    assert built.path == build_dir() and (built.path / "BUILT").is_file()
    assert built.modules >= 50
    done = subprocess.run([sys.executable, "-m", "swaplab", "build"], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (f"{built.modules} modules compiled with mypyc, already built: "
                           f"{built.path}\n")


CONSTANTS = textwrap.dedent('''\
    """Constants."""

    from dataclasses import dataclass
    from typing import TypeVar

    SWP_USED = 1
    __GFP_WAIT = 0x10
    PG_locked = 1 << 0
    LIMIT: int = 4
    T = TypeVar("T")
    ThreadBody = list[int]
    COUNTER = 0
    COUNTER = 1
    TOUCHED = 0


    class Running:
        pass


    running = Running()
    other = list()


    def bump() -> None:
        global TOUCHED
        TOUCHED += 1
    ''')


def test_constants_become_final(tmp_path: Path) -> None:
    text = _marked(tmp_path, CONSTANTS, mark_constants)
    assert '"""Constants."""\n\nfrom typing import Final\nfrom dataclasses' in text
    for line in ("SWP_USED: Final = 1", "__GFP_WAIT: Final = 0x10",
                 "PG_locked: Final = 1 << 0", "LIMIT: Final[int] = 4",
                 "running: Final = Running()"):
        assert f"\n{line}\n" in text, line
    # a TypeVar, a type alias, a name bound twice or rebound through `global`, and a
    # lower-case name bound to anything but one of the module's classes stay as they were
    for line in ('T = TypeVar("T")', "ThreadBody = list[int]", "COUNTER = 0",
                 "TOUCHED = 0", "other = list()"):
        assert f"\n{line}\n" in text, line
    compile(text, "c.py", "exec")
