"""``swaplab hunt --resume FILE``: an append-only journal of the finished cases.

The file is JSON lines. The first names the hunt (:meth:`HuntConfig.identity
<swaplab.hunt.run.HuntConfig.identity>`: kernel, patches, fixes, seed, depth, the per-case
cap, the second search's cap in effect, the generator); each further line is one finished
case with its findings (:meth:`Explored.as_json <swaplab.hunt.run.Explored.as_json>`),
written, flushed and fsync'ed as the case finishes. A hunt given the file reads it back,
skips the cases in it and appends the others, so a hunt stopped by Ctrl-C or killed loses
at most the cases that were running. A kill can cut the last line short: a last line
without its newline is dropped (that case runs again); any other line that does not read
is an error, as is a journal of another hunt.
"""

from __future__ import annotations

import json
import os
from typing import IO, Any

from swaplab.hunt.run import Explored

#: The first line's "journal" value.
MAGIC = "swaplab hunt"
VERSION = 1


class JournalError(ValueError):
    """A file that is not this hunt's journal (one line: exit status 2)."""


class Journal:
    """An open journal: the cases it holds (``finished``, by case key) and the file,
    open for appending."""

    def __init__(self, path: str, identity: dict[str, Any]) -> None:
        self.path = path
        self.finished: dict[str, Explored] = {}
        lines = _read(path)
        if lines:
            _check_header(path, lines[0], identity)
            for number, line in enumerate(lines[1:], 2):
                explored = _case(path, number, line)
                self.finished[explored.case] = explored
        try:
            self._file: IO[str] = open(path, "a", encoding="utf-8")  # noqa: SIM115
        except OSError as err:
            raise JournalError(f"cannot write journal {path}: {err.strerror}") from None
        if not lines:
            self._write({"journal": MAGIC, "version": VERSION, "hunt": identity})

    def append(self, explored: Explored) -> None:
        """Record a finished case (on disk when this returns)."""
        self._write(explored.as_json())
        self.finished[explored.case] = explored

    def _write(self, data: dict[str, Any]) -> None:
        self._file.write(json.dumps(data, sort_keys=True) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read(path: str) -> list[str]:
    """The journal's complete lines; a torn last line (no newline) is cut off the file."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return []
    except OSError as err:
        raise JournalError(f"cannot read journal {path}: {err.strerror}") from None
    end = data.rfind(b"\n") + 1
    if end < len(data):
        try:
            os.truncate(path, end)
        except OSError as err:
            raise JournalError(f"cannot repair journal {path}: {err.strerror}") from None
    try:
        return data[:end].decode("utf-8").splitlines()
    except UnicodeDecodeError:
        raise JournalError(f"{path} is not a hunt journal (not text)") from None


def _json(path: str, number: int, line: str) -> Any:
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        raise JournalError(f"{path}: line {number} is not JSON") from None


def _check_header(path: str, line: str, identity: dict[str, Any]) -> None:
    header = _json(path, 1, line)
    if not isinstance(header, dict) or header.get("journal") != MAGIC:
        raise JournalError(f"{path} is not a hunt journal")
    if header.get("version") != VERSION:
        raise JournalError(f"{path}: journal version {header.get('version')!r}, "
                           f"this swaplab writes {VERSION}")
    theirs = header.get("hunt")
    if not isinstance(theirs, dict):
        raise JournalError(f"{path} is not a hunt journal (no hunt options)")
    for name, value in identity.items():
        if theirs.get(name) != value:
            raise JournalError(f"{path} is the journal of another hunt: {name} "
                               f"{theirs.get(name)!r}, not {value!r}")


def _case(path: str, number: int, line: str) -> Explored:
    data = _json(path, number, line)
    try:
        return Explored.from_json(data)
    except (KeyError, TypeError, ValueError):
        raise JournalError(f"{path}: line {number} is not a finished case") from None
