"""``swaplab build``: compile the model with mypyc into this source's build directory.

The build copies the package and marks each module it compiles (its constants ``Final``:
:func:`mark_constants`; its classes with the mypyc attributes they need:
:func:`mark_classes`). Then it runs mypyc (part of mypy, a dev dependency) twice: through
setuptools for :data:`~swaplab.native.COMPILED`, one C file per module compiled on every
core into one extension, and for the state encoder alone (:data:`~swaplab.native.ENCODER`).
Only the C extensions are kept, in :func:`swaplab.native.build_dir`, which appears whole
or not at all; the :data:`KEPT` newest builds stay. It needs a C compiler and the headers
of this Python; about a minute on two cores.
"""

from __future__ import annotations

import ast
import fcntl
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from swaplab.cache import source_digest
from swaplab.native import ENCODER, build_dir, builds_root, built, modules_in

PACKAGE = Path(__file__).resolve().parent.parent
#: Builds kept (this one and the newest others: a running command of older source may
#: still start workers that import its build).
KEPT = 4

#: The setup script run in the copy: mypyc's extension, its C files compiled in parallel
#: (setuptools compiles the files of one extension one after another).
_SETUP = '''\
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
            return Built(dest, int((dest / "BUILT").read_text().split()[0]), 0.0, True)
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
    for name in [*files, ENCODER]:
        mark_constants(tree / name)
        mark_classes(tree / name)
    (tree / "setup_native.py").write_text(_SETUP.format(files=files,
                                                         jobs=jobs or os.cpu_count() or 1))
    try:
        _compile(tree, ["setup_native.py"])
        _compile(tree, ["-m", "mypyc", ENCODER])  # alone: other modules are Python to it
        _install(tree, dest, len(files) + 1)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return Built(dest, len(files) + 1, time.perf_counter() - start, False)


def _compile(tree: Path, command: list[str]) -> None:
    proc = subprocess.run([sys.executable, *command], cwd=tree, capture_output=True,
                          text=True)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
        raise BuildError("mypyc failed:\n" + "\n".join(tail))


def _install(tree: Path, dest: Path, modules: int) -> None:
    """Copy the extensions of ``tree`` into ``dest`` (whole or not at all) and remove all
    but the :data:`KEPT` newest builds."""
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


#: A constant's name: capitals (and digits) up to its first underscore, as the kernel's
#: ``SWAP_HAS_CACHE``, ``PG_locked`` and ``__GFP_WAIT``; not ``ThreadBody``, a type alias.
CONSTANT = re.compile(r"_*[A-Z][A-Z0-9]*(_\w*)?")


def mark_constants(path: Path) -> None:
    """Annotate each module-level constant of the copy ``path`` ``Final``.

    A constant is a name that the module assigns once, at its top level: of
    :data:`CONSTANT` form (not a ``TypeVar``), or bound to an instance of one of its
    classes (a singleton such as ``ops.running``). mypyc keeps a ``Final`` name in a C
    variable (a literal, in the code); any other global is a dictionary lookup at every
    use. mypy checks the copy: a constant assigned anywhere else fails the build."""
    text = path.read_text()
    tree = ast.parse(text)
    counts = _module_stores(tree)
    classes = {node.name for node in tree.body if isinstance(node, ast.ClassDef)}
    lines = text.splitlines(keepends=True)
    edits: list[tuple[int, int, str]] = []  # (line from 1, column from 0, text to insert)
    for node in tree.body:
        target = _constant_target(node, classes)
        if target is None or counts.get(target.id) != 1:
            continue
        if isinstance(node, ast.AnnAssign):
            if "Final" in ast.unparse(node.annotation):
                continue
            annotation = node.annotation
            edits.append((annotation.end_lineno or annotation.lineno,
                          annotation.end_col_offset or 0, "]"))
            edits.append((annotation.lineno, annotation.col_offset, "Final["))
        else:
            edits.append((target.lineno, target.end_col_offset or 0, ": Final"))
    if not edits:
        return
    for line, column, insert in sorted(edits, reverse=True):
        row = lines[line - 1]
        lines[line - 1] = row[:column] + insert + row[column:]
    first = next(node for node in tree.body if not _preamble(node))
    lines.insert(first.lineno - 1, "from typing import Final\n")
    path.write_text("".join(lines))


def _module_stores(tree: ast.Module) -> dict[str, int]:
    """How often each module-level name is assigned: at the top level (also inside
    ``if``/``for``/``try``), or anywhere through ``global``."""
    counts: dict[str, int] = {}
    scopes = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda,
              ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)

    def visit(node: ast.AST, top: bool) -> None:
        if isinstance(node, ast.Global):
            for name in node.names:
                counts[name] = counts.get(name, 0) + 2
        elif top and isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            counts[node.id] = counts.get(node.id, 0) + 1
        for child in ast.iter_child_nodes(node):
            visit(child, top and not isinstance(node, scopes))

    visit(tree, True)
    return counts


def _preamble(node: ast.stmt) -> bool:
    """The module's docstring or a ``from __future__`` import."""
    docstring = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) \
        and isinstance(node.value.value, str)
    return docstring or (isinstance(node, ast.ImportFrom) and node.module == "__future__")


def _constant_target(node: ast.stmt, classes: set[str]) -> ast.Name | None:
    """The name a module-level ``NAME = value`` (or annotated) assigns, when it is of
    :data:`CONSTANT` form and the value is no ``TypeVar``, or when the value is an
    instance of a class of the module (a singleton such as ``ops.running``)."""
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target, value = node.targets[0], node.value
    elif isinstance(node, ast.AnnAssign) and node.value is not None:
        target, value = node.target, node.value
    else:
        return None
    if not isinstance(target, ast.Name):
        return None
    called = ast.unparse(value.func) if isinstance(value, ast.Call) else None
    if called in classes:
        return target
    if not CONSTANT.fullmatch(target.id) or called in ("TypeVar", "NewType"):
        return None
    return target


def mark_classes(path: Path) -> None:
    """Give each class of the copy ``path`` the mypyc attribute it needs.

    A class derived from a builtin type (``LruAddPvecs``, a list) stays a Python class.
    Every other class whose bases (if any) are swaplab's own (:func:`_ours`; not an
    exception, enum or protocol) allows interpreted subclasses, which makes mypyc's
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
        if not all(isinstance(b, ast.Name) and _ours(b.id) for b in node.bases):
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


def _ours(base: str) -> bool:
    """Whether a base class named ``base`` is one of swaplab's (an exception, enum or
    protocol is not; nor is a generic alias, which is no plain name)."""
    return base not in ("Enum", "IntEnum", "Protocol") and \
        not base.endswith(("Error", "Exception"))


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
