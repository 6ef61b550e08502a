"""``swaplab build``: compile the model with mypyc into this source's build directory.

The build copies the package, marks each class of the modules it compiles with the mypyc
attribute it needs (:func:`mark_classes`), then runs mypyc (part of mypy, a dev
dependency) through setuptools with one C file per module, compiled on every core, into one
extension. Only the C extensions are kept, in :func:`swaplab.native.build_dir`, which is
replaced atomically; builds of older source are removed. It needs a C compiler and the
headers of this Python; about two minutes on two cores.
"""

from __future__ import annotations

import ast
import fcntl
import importlib.util
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from swaplab.cache import source_digest
from swaplab.native import build_dir, builds_root, built, modules_in

PACKAGE = Path(__file__).resolve().parent.parent
#: Builds kept (this one and the newest others: a running command of older source may
#: still start workers that import its build).
KEPT = 4

#: The setup script run in the copy: mypyc's extension, its C files compiled in parallel
#: (setuptools compiles the files of one extension one after another).
_SETUP = '''\
import sys
from concurrent.futures import ThreadPoolExecutor

from mypyc.build import mypycify
from setuptools import setup
from setuptools.command.build_ext import build_ext

FILES, JOBS = {files!r}, {jobs!r}


class ParallelBuildExt(build_ext):
    def build_extension(self, ext):
        original = self.compiler.compile

        def compile(sources, *args, **kwargs):
            first = original(sources[:1], *args, **kwargs)  # creates the directories
            with ThreadPoolExecutor(JOBS) as pool:
                rest = pool.map(lambda source: original([source], *args, **kwargs),
                                sources[1:])
                return first + [obj for objects in rest for obj in objects]

        self.compiler.compile = compile
        try:
            super().build_extension(ext)
        finally:
            self.compiler.compile = original


setup(name="swaplab-native", cmdclass={{"build_ext": ParallelBuildExt}},
      ext_modules=mypycify(FILES, multi_file=True), script_args=["build_ext", "--inplace"])
'''


class BuildError(Exception):
    """The build could not run or failed (the message says why, in one line or a tail)."""


@dataclass(frozen=True, slots=True)
class Built:
    path: Path
    modules: int
    seconds: float
    reused: bool


def build(jobs: int | None = None) -> Built:
    """Compile this source unless its build exists; raises :class:`BuildError`. One
    build at a time: another process's build of the same source is waited for and used."""
    if importlib.util.find_spec("mypyc") is None:
        raise BuildError("mypyc is not installed (it comes with mypy: "
                         "pip install -e '.[dev]')")
    builds_root().mkdir(parents=True, exist_ok=True)
    with open(builds_root() / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if built():
            dest = build_dir()
            return Built(dest, len(list(dest.rglob("*.so"))) - 1, 0.0, True)
        return _build(jobs)


def _build(jobs: int | None) -> Built:
    start = time.perf_counter()
    work = builds_root() / f".building-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    tree = work / "src"
    shutil.copytree(PACKAGE, tree / "swaplab",
                    ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    dest = build_dir(source_digest(tree / "swaplab"))  # the copy's: what is compiled
    files = modules_in(tree)
    for name in files:
        mark_classes(tree / name)
    (tree / "setup_native.py").write_text(_SETUP.format(files=files,
                                                         jobs=jobs or os.cpu_count() or 1))
    try:
        _compile(tree)
        _install(tree, dest, len(files))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return Built(dest, len(files), time.perf_counter() - start, False)


def _compile(tree: Path) -> None:
    proc = subprocess.run([sys.executable, "setup_native.py"], cwd=tree, capture_output=True,
                          text=True)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
        raise BuildError("mypyc failed:\n" + "\n".join(tail))


def _install(tree: Path, dest: Path, modules: int) -> None:
    """Move the extensions of ``tree`` into ``dest`` (whole or not at all) and remove the
    builds of other source."""
    staged = dest.with_name(dest.name + ".new")
    shutil.rmtree(staged, ignore_errors=True)
    for so in sorted(tree.rglob("*.so")):
        if "build" in so.relative_to(tree).parts[:1]:
            continue
        target = staged / so.relative_to(tree)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(so, target)
    (staged / "BUILT").write_text(f"{modules} modules compiled by mypyc\n")
    shutil.rmtree(dest, ignore_errors=True)
    staged.rename(dest)
    older = sorted((p for p in dest.parent.iterdir() if p.is_dir() and p != dest
                    and not p.name.startswith(".")), key=lambda p: p.stat().st_mtime)
    for other in older[:max(0, len(older) + 1 - KEPT)]:
        shutil.rmtree(other, ignore_errors=True)


def mark_classes(path: Path) -> None:
    """Give each class of the copy ``path`` the mypyc attribute it needs.

    A class derived from a builtin type (``LruAddPvecs``, a list) stays a Python class.
    Every other class without bases allows interpreted subclasses, which makes mypyc's
    ``__new__`` leave ``__init__`` to ``tp_init``: pickle and copy then work as for a
    Python class (the explorer's prepared snapshots, ``scenarios/kernel_common.
    prepared()``, are pickles of the model). ``serializable=True`` would too, but with
    mypy 2.4.1 its ``tp_init`` does not call ``__init__``: a class called from Python code
    stays empty.

    A frozen dataclass loses ``frozen`` and gains ``unsafe_hash`` (the same ``__hash__``):
    mypyc's ``__setstate__`` sets fields one by one, which the frozen ``__setattr__``
    refuses, and as a Python class in a compiled module (mypy 2.4.1) its ``==`` would
    compile to ``is``. mypy checked the source with ``frozen``, so nothing assigns to it."""
    text = path.read_text()
    lines = text.splitlines(keepends=True)
    edits: list[tuple[int, int, str]] = []  # (first line, end line, replacement), 0-based
    for node in ast.parse(text).body:
        if not isinstance(node, ast.ClassDef):
            continue
        bases = [ast.unparse(b) for b in node.bases]
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
        if any(b.startswith(("list", "dict")) for b in bases):
            edits.append((first, first, "@mypyc_attr(native_class=False)\n"))
            continue
        if bases:
            continue
        edits.append((first, first, "@mypyc_attr(allow_interpreted_subclasses=True)\n"))
        for decorator in node.decorator_list:
            thawed = _thawed(decorator)
            if thawed is not None:
                edits.append((decorator.lineno - 1, decorator.end_lineno or decorator.lineno,
                              f"@{thawed}\n"))
    if not edits:
        return
    for begin, end, replacement in sorted(edits, reverse=True):
        lines[begin:end] = [replacement]
    text = "".join(lines).replace("from __future__ import annotations\n",
                                  "from __future__ import annotations\n\n"
                                  "from mypy_extensions import mypyc_attr\n", 1)
    path.write_text(text)


def _thawed(decorator: ast.expr) -> str | None:
    """``dataclass(frozen=True, ...)`` as ``dataclass(..., unsafe_hash=True)``; None for
    any other decorator."""
    if not (isinstance(decorator, ast.Call) and ast.unparse(decorator.func) == "dataclass"):
        return None
    keywords = [k for k in decorator.keywords if k.arg != "frozen"]
    if len(keywords) == len(decorator.keywords):
        return None
    keywords.append(ast.keyword("unsafe_hash", ast.Constant(True)))
    return ast.unparse(ast.Call(decorator.func, decorator.args, keywords))
