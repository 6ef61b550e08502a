"""swaplab/native/build.py: the marks the copy gets, and ``swaplab build``."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from swaplab.native import build_dir
from swaplab.native.build import Built, mark_classes

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
    ''')


def test_marks(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text(SOURCE)
    mark_classes(path)
    text = path.read_text()
    assert "from __future__ import annotations\n\nfrom mypy_extensions import mypyc_attr\n" in text
    # a frozen dataclass is thawed, with the same hash; every base-less class allows
    # interpreted subclasses; a list subclass stays a Python class; a subclass is left
    assert ("@mypyc_attr(allow_interpreted_subclasses=True)\n"
            "@dataclass(slots=True, unsafe_hash=True)\nclass Config:") in text
    assert ("@mypyc_attr(allow_interpreted_subclasses=True)\n"
            "@dataclass(slots=True)\nclass Record:") in text
    assert "@mypyc_attr(native_class=False)\nclass Pvecs(list[int]):" in text
    assert "@mypyc_attr(allow_interpreted_subclasses=True)\nclass Page:" in text
    assert text.count("@mypyc_attr") == 4
    compile(text, "m.py", "exec")


def test_a_module_without_classes_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "f.py"
    path.write_text('"""Functions."""\n\n\ndef f() -> int:\n    return 1\n')
    before = path.read_text()
    mark_classes(path)
    assert path.read_text() == before


def test_swaplab_build_reuses_the_build_of_this_source(built: Built) -> None:
    assert built.path == build_dir() and (built.path / "BUILT").is_file()
    assert built.modules >= 50
    done = subprocess.run([sys.executable, "-m", "swaplab", "build"], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (f"{built.modules} modules compiled with mypyc, already built: "
                           f"{built.path}\n")
