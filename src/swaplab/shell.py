"""``swaplab sh``: shell-like lines against a modelled machine (a :class:`~swaplab.system.System`).

File commands act on the memory cgroup mount (paths as in :mod:`swaplab.system`) and /proc::

    mkdir /G                      rmdir /G                 ls /G
    echo 40M > /G/memory.limit_in_bytes                    cat /G/memory.stat /proc/meminfo
    swapon 512M                   swapoff                  sysrq m          dmesg
    swapon --discard 512M         (an area on a device that supports discard, as an SSD)

Tasks have names; mappings have names per task (a forked child inherits them)::

    spawn A /G                    A mmap m1 anon 100M [locked]     A mmap m2 shared 4K
    A shm s1 KEY 4K               A touch m1 [read]                A munmap m1
    A shmdt s1                    A shmrm s1                       A mlock m1
    A read 10M                    A fork B                         A move /H
    A madvise m1 dontneed         A thread T (shares A's mm)       A exit
    ps                            check

``expect PATH [KEY] VALUE`` and ``expect NAME STATE`` compare a file's value (the line
``KEY ...`` of a map file like memory.stat) or a task's state, so a script checks itself.

As in a shell script, a refused command prints its errno message ("swaplab: echo: write
error: Invalid argument") and the script goes on. A malformed line stops the script with
``FILE:LINE: what is wrong`` and exit status 2; a failed ``expect`` makes the exit status 1.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import shlex
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType
from typing import TextIO

from swaplab.explore import Deadlock, StepLimit
from swaplab.kernel.config import ConfigError
from swaplab.kernel.errno import KernelBug
from swaplab.system import Mapping, System, Task, parse_size

HISTORY = Path("~/.swaplab_history")
PROMPT = "swaplab# "


class Malformed(Exception):
    """A line the shell cannot parse: the script stops (exit status 2)."""


class Shell:
    """Runs lines against one System; ``out`` gets command output, ``err`` the errors."""

    def __init__(self, system: System, out: TextIO, err: TextIO) -> None:
        self.system = system
        self.out = out
        self.err = err
        self.named: dict[str, Task] = {}
        self.maps: dict[str, dict[str, Mapping]] = {}
        self.failed_expectations = 0
        self.where = ""
        self.verbs: dict[str, Callable[[list[str]], None]] = {
            "mkdir": self.do_mkdir,
            "rmdir": self.do_rmdir,
            "ls": self.do_ls,
            "echo": self.do_echo,
            "cat": self.do_cat,
            "swapon": self.do_swapon,
            "swapoff": self.do_swapoff,
            "sysrq": self.do_sysrq,
            "dmesg": self.do_dmesg,
            "spawn": self.do_spawn,
            "ps": self.do_ps,
            "check": self.do_check,
            "expect": self.do_expect,
            "help": self.do_help,
        }
        self.task_verbs: dict[str, Callable[[str, Task, list[str]], None]] = {
            "mmap": self.t_mmap,
            "shm": self.t_shm,
            "touch": self.t_touch,
            "munmap": self.t_munmap,
            "shmdt": self.t_shmdt,
            "shmrm": self.t_shmrm,
            "mlock": self.t_mlock,
            "read": self.t_read,
            "fork": self.t_fork,
            "thread": self.t_thread,
            "madvise": self.t_madvise,
            "move": self.t_move,
            "exit": self.t_exit,
        }

    # -- running lines --------------------------------------------------------------------

    def run_line(self, line: str) -> None:
        """Run one line; raises :class:`Malformed` for a line that does not parse."""
        words = split(line)
        if not words:
            return
        before = {name: t.state for name, t in self.named.items()}
        verb = words[0]
        if verb in self.verbs:
            self.verbs[verb](words[1:])
        elif verb in self.named:
            self.run_task_verb(verb, words[1:])
        else:
            raise Malformed(f"unknown command or task {verb!r} (try 'help')")
        for name, task in self.named.items():
            if task.state == "killed" and before.get(name) != "killed":
                self.say(f"{name}: killed (pid {task.pid})")

    def run_task_verb(self, name: str, args: list[str]) -> None:
        if not args:
            raise Malformed(f"{name}: missing a task verb ({', '.join(self.task_verbs)})")
        verb = args[0]
        action = self.task_verbs.get(verb)
        if action is None:
            raise Malformed(f"{name}: unknown task verb {verb!r}")
        task = self.named[name]
        try:
            action(name, task, args[1:])
        except ProcessLookupError:
            self.error(f"swaplab: {name}: {verb}: no such process ({task.state})")
        except OSError as e:
            self.error(f"swaplab: {name}: {verb}: {_strerror(e)}")

    def say(self, text: str) -> None:
        self.out.write(text if text.endswith("\n") or not text else text + "\n")

    def error(self, text: str) -> None:
        self.out.flush()
        self.err.write(text + "\n")
        self.err.flush()

    # -- file commands --------------------------------------------------------------------

    def do_mkdir(self, args: list[str]) -> None:
        parents = "-p" in args
        paths = _paths(args, "mkdir", flags=("-p",))
        for path in paths:
            todo = _prefixes(path) if parents else [path]
            for p in todo:
                if parents and self.system.is_cgroup(p):
                    continue
                try:
                    self.system.mkdir(p)
                except OSError as e:
                    self.error(f"mkdir: cannot create directory '{p}': {_strerror(e)}")
                    break

    def do_rmdir(self, args: list[str]) -> None:
        for path in _paths(args, "rmdir"):
            try:
                self.system.rmdir(path)
            except OSError as e:
                self.error(f"rmdir: failed to remove '{path}': {_strerror(e)}")

    def do_ls(self, args: list[str]) -> None:
        for path in args or ["/"]:
            _need_path(path, "ls")
            try:
                self.say("\n".join(self.system.listdir(path)))
            except OSError as e:
                self.error(f"ls: cannot access '{path}': {_strerror(e)}")

    def do_echo(self, args: list[str]) -> None:
        newline = True
        if args[:1] == ["-n"]:
            newline, args = False, args[1:]
        redirect = [i for i, w in enumerate(args) if w in (">", ">>")]
        if not redirect:
            self.say(" ".join(args))
            return
        i = redirect[0]
        if len(redirect) > 1 or i != len(args) - 2:
            raise Malformed("echo: expected 'echo VALUE > FILE'")
        path = args[-1]
        _need_path(path, "echo")
        text = " ".join(args[:i]) + ("\n" if newline else "")
        try:
            self.system.write(path, text)
        except OSError as e:
            if e.errno in (errno.ENOENT, errno.ENODEV, errno.EISDIR):  # the open fails
                self.error(f"swaplab: {path}: {_strerror(e)}")
            else:
                self.error(f"swaplab: echo: write error: {_strerror(e)}")

    def do_cat(self, args: list[str]) -> None:
        for path in _paths(args, "cat"):
            try:
                self.out.write(self.system.read(path))
            except OSError as e:
                self.error(f"cat: {path}: {_strerror(e)}")

    def do_swapon(self, args: list[str]) -> None:
        discard = args[:1] == ["--discard"]
        if len(args) != 1 + discard:
            raise Malformed("swapon: expected 'swapon [--discard] SIZE'")
        size = _size(args[-1])
        try:
            self.system.swapon(size, discard=discard)
        except OSError as e:
            self.error(f"swapon: {args[-1]}: {_strerror(e)}")

    def do_swapoff(self, args: list[str]) -> None:
        if args not in ([], ["-a"]):
            raise Malformed("swapoff: expected 'swapoff' or 'swapoff -a'")
        try:
            self.system.swapoff()
        except OSError as e:
            self.error(f"swapoff: {_strerror(e)}")

    def do_sysrq(self, args: list[str]) -> None:
        if len(args) != 1 or len(args[0]) != 1:
            raise Malformed("sysrq: expected one key, e.g. 'sysrq m'")
        try:
            self.out.write(self.system.sysrq(args[0]))
        except OSError:
            self.error(f"sysrq: key {args[0]!r} is not modelled (only 'm')")

    def do_dmesg(self, args: list[str]) -> None:
        _no_args(args, "dmesg")
        for text in self.system.kmsg:
            self.out.write(text)

    # -- tasks ----------------------------------------------------------------------------

    def do_spawn(self, args: list[str]) -> None:
        if len(args) not in (1, 2):
            raise Malformed("spawn: expected 'spawn NAME [GROUP]'")
        name = args[0]
        self._new_name(name)
        path = args[1] if len(args) == 2 else "/"
        _need_path(path, "spawn")
        try:
            task = self.system.spawn(path, comm=name)
        except OSError as e:
            self.error(f"spawn: {path}: {_strerror(e)}")
            return
        self.named[name] = task
        self.maps[name] = {}

    def _new_name(self, name: str) -> None:
        if not name.isidentifier():
            raise Malformed(f"task name {name!r} must be a word (letters, digits, _)")
        if name in self.verbs or name in self.named:
            raise Malformed(f"task name {name!r} is already taken")

    def do_ps(self, args: list[str]) -> None:
        _no_args(args, "ps")
        self.say(f"{'PID':>5} {'NAME':<8} {'STATE':<8} CGROUP")
        for name, task in self.named.items():
            self.say(f"{task.pid:>5} {name:<8} {task.state:<8} {task.cgroup}")

    def do_check(self, args: list[str]) -> None:
        _no_args(args, "check")
        broken = self.system.check_invariants()
        if broken:
            self.failed_expectations += 1
            for problem in broken:
                self.error(f"{self.where}invariant broken: {problem}")
        else:
            self.say("invariants: ok")

    def do_expect(self, args: list[str]) -> None:
        if len(args) == 2 and args[0] in self.named:
            got = self.named[args[0]].state
            want = args[1]
        elif len(args) in (2, 3) and args[0].startswith("/"):
            want = args[-1]
            try:
                text = self.system.read(args[0])
            except OSError as e:
                got = f"error: {_strerror(e)}"
            else:
                got = _value(text, args[1] if len(args) == 3 else None)
        else:
            raise Malformed("expect: expected 'expect FILE [KEY] VALUE' or 'expect TASK STATE'")
        if not _same(got, want):
            self.failed_expectations += 1
            self.error(f"{self.where}expected {' '.join(args[:-1])} = {want}, got {got}")

    def do_help(self, args: list[str]) -> None:
        self.say(__doc__ or "")

    # -- task verbs -----------------------------------------------------------------------

    def _map(self, name: str, key: str) -> Mapping:
        m = self.maps[name].get(key)
        if m is None:
            raise Malformed(f"{name}: no mapping named {key!r}")
        return m

    def t_mmap(self, name: str, task: Task, args: list[str]) -> None:
        if len(args) not in (3, 4) or args[1] not in ("anon", "shared") or (
            len(args) == 4 and (args[3] != "locked" or args[1] != "anon")
        ):
            raise Malformed(f"{name}: expected '{name} mmap MAP anon|shared SIZE [locked]'")
        key, kind, size = args[0], args[1], _size(args[2])
        if kind == "anon":
            m = task.mmap_anon(size, locked=len(args) == 4)
        else:
            m = task.mmap_shared_zero(size)
        self.maps[name][key] = m

    def t_shm(self, name: str, task: Task, args: list[str]) -> None:
        if len(args) != 3 or not args[1].isdigit():
            raise Malformed(f"{name}: expected '{name} shm MAP KEY SIZE'")
        self.maps[name][args[0]] = task.shm(int(args[1]), _size(args[2]))

    def t_touch(self, name: str, task: Task, args: list[str]) -> None:
        if len(args) not in (1, 2) or (len(args) == 2 and args[1] not in ("read", "write")):
            raise Malformed(f"{name}: expected '{name} touch MAP [read]'")
        task.touch(self._map(name, args[0]), write=args[1:] != ["read"])

    def _one_map(self, name: str, verb: str, args: list[str]) -> Mapping:
        if len(args) != 1:
            raise Malformed(f"{name}: expected '{name} {verb} MAP'")
        return self._map(name, args[0])

    def t_munmap(self, name: str, task: Task, args: list[str]) -> None:
        task.munmap(self._one_map(name, "munmap", args))
        del self.maps[name][args[0]]

    def t_shmdt(self, name: str, task: Task, args: list[str]) -> None:
        task.shmdt(self._one_map(name, "shmdt", args))

    def t_shmrm(self, name: str, task: Task, args: list[str]) -> None:
        task.shm_rmid(self._one_map(name, "shmrm", args))

    def t_mlock(self, name: str, task: Task, args: list[str]) -> None:
        task.mlock(self._one_map(name, "mlock", args))

    def t_read(self, name: str, task: Task, args: list[str]) -> None:
        if len(args) != 1:
            raise Malformed(f"{name}: expected '{name} read SIZE'")
        task.read_file(_size(args[0]))

    def t_fork(self, name: str, task: Task, args: list[str]) -> None:
        if len(args) != 1:
            raise Malformed(f"{name}: expected '{name} fork CHILD'")
        self._new_name(args[0])
        child = task.fork()
        self.named[args[0]] = child
        self.maps[args[0]] = dict(self.maps[name])

    def t_thread(self, name: str, task: Task, args: list[str]) -> None:
        if len(args) != 1:
            raise Malformed(f"{name}: expected '{name} thread NAME'")
        self._new_name(args[0])
        self.named[args[0]] = task.clone_thread()
        self.maps[args[0]] = self.maps[name]  # one mm: the same mappings

    def t_madvise(self, name: str, task: Task, args: list[str]) -> None:
        if len(args) != 2 or args[1] != "dontneed":
            raise Malformed(f"{name}: expected '{name} madvise MAP dontneed'")
        task.madvise(self._one_map(name, "madvise", args[:1]), args[1])

    def t_move(self, name: str, task: Task, args: list[str]) -> None:
        if len(args) != 1:
            raise Malformed(f"{name}: expected '{name} move GROUP'")
        _need_path(args[0], "move")
        task.move_to(args[0])

    def t_exit(self, name: str, task: Task, args: list[str]) -> None:
        _no_args(args, f"{name} exit")
        task.exit()


# ---------------------------------------------------------------------------------------
# parsing helpers


def split(line: str) -> list[str]:
    """Shell words of ``line``: quotes, ``#`` comments, and ``>`` as a word of its own."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars="<>|&;()")
    lexer.whitespace_split = True
    try:
        words = list(lexer)
    except ValueError as e:
        raise Malformed(str(e).lower()) from None
    for word in words:
        if word and word[0] in "<|&;()":
            raise Malformed(f"{word!r} is not supported (only 'echo VALUE > FILE')")
    return words


def _paths(args: list[str], verb: str, flags: tuple[str, ...] = ()) -> list[str]:
    paths = [a for a in args if a not in flags]
    if not paths:
        raise Malformed(f"{verb}: missing a path")
    for path in paths:
        _need_path(path, verb)
    return paths


def _need_path(path: str, verb: str) -> None:
    if not path.startswith("/"):
        raise Malformed(f"{verb}: {path!r} is not an absolute path")


def _no_args(args: list[str], verb: str) -> None:
    if args:
        raise Malformed(f"{verb}: takes no arguments")


def _prefixes(path: str) -> list[str]:
    parts = [p for p in path.split("/") if p]
    return ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError:
        raise Malformed(f"{text!r} is not a size (bytes, or a K/M/G suffix)") from None


def _strerror(e: OSError) -> str:
    return e.strerror or os.strerror(e.errno or 0)


def _value(text: str, key: str | None) -> str:
    if key is None:
        return text.strip()
    for line in text.splitlines():
        words = line.replace(":", " ").split()
        if words and words[0] == key:
            return " ".join(words[1:])
    return "(no such key)"


def _same(got: str, want: str) -> bool:
    """Equal as text, or as sizes ("4096" = "4K"; a meminfo "400 kB" = "400")."""
    if got == want:
        return True
    try:
        return parse_size(got.removesuffix(" kB")) == parse_size(want)
    except ValueError:
        return False


# ---------------------------------------------------------------------------------------
# drivers


def run_lines(shell: Shell, lines: Iterable[str], name: str, stop_on_error: bool = True) -> int:
    """Run ``lines``; the exit status of a script (0, 1 for failed expectations, 2 for a
    malformed line, 3 for a kernel BUG or a model error)."""
    for number, line in enumerate(lines, 1):
        shell.where = f"{name}:{number}: "
        status = _run_one(shell, line)
        if status and stop_on_error:
            return status
    return 1 if shell.failed_expectations else 0


def _run_one(shell: Shell, line: str) -> int:
    try:
        shell.run_line(line)
    except Malformed as e:
        shell.error(f"{shell.where}{e}")
        return 2
    except KernelBug as e:
        shell.error(f"{shell.where}kernel BUG: {e}")
        return 3
    except (Deadlock, StepLimit) as e:
        shell.error(f"{shell.where}model error: {type(e).__name__}: {e}")
        return 3
    except ProcessLookupError as e:
        shell.error(f"{shell.where}{e}")
    except OSError as e:
        shell.error(f"{shell.where}{_strerror(e)}")
    except Exception as e:  # no tracebacks, ever: this is a user's shell
        shell.error(f"{shell.where}internal error: {type(e).__name__}: {e}")
        return 70
    shell.out.flush()
    return 0


def interactive(shell: Shell) -> int:
    """A prompt with readline editing and history in ~/.swaplab_history."""
    history = HISTORY.expanduser()
    readline = _readline()
    if readline is not None:
        with contextlib.suppress(OSError):
            readline.read_history_file(str(history))
    k = shell.system.k
    shell.say(f"swaplab: a modelled Linux {k.cfg.name}, {k.totalram_pages * 4} kB of RAM, "
              f"{k.total_swap_pages * 4} kB of swap. 'help' lists the commands.")
    number = 0
    try:
        while True:
            try:
                line = input(PROMPT)
            except KeyboardInterrupt:
                shell.say("")
                continue
            except EOFError:
                shell.say("")
                return 0
            number += 1
            shell.where = f"<stdin>:{number}: "
            if _run_one(shell, line) in (3, 70):
                shell.error("(the machine may be inconsistent now)")
    finally:
        if readline is not None:
            with contextlib.suppress(OSError):
                readline.write_history_file(str(history))


def _readline() -> ModuleType | None:
    try:
        import readline
    except ImportError:  # pragma: no cover - platforms without readline
        return None
    return readline


def _script(name: str) -> Path:
    """The script file ``name``; when there is none, a script shipped with swaplab by that
    name (``examples/ltp-basic.sh`` works in any directory)."""
    path = Path(name)
    if path.exists():
        return path
    shipped = Path(__file__).parent / "examples" / path.name
    return shipped if path.parent in (Path("."), Path("examples")) and shipped.is_file() else path


def run_shell(args: argparse.Namespace) -> int:
    """``swaplab sh [FILE]``: run a script, or a prompt when there is no file."""
    try:
        system = System(kernel=args.kernel, ram=args.ram, swap=args.swap,
                        page_cluster=args.page_cluster)
    except (ValueError, ConfigError, OSError) as e:
        sys.stderr.write(f"swaplab: error: {e}\n")
        return 2
    shell = Shell(system, sys.stdout, sys.stderr)
    if args.script is None:
        if sys.stdin.isatty():
            return interactive(shell)
        return run_lines(shell, sys.stdin, "<stdin>")
    try:
        text = _script(args.script).read_text()
    except OSError as e:
        sys.stderr.write(f"swaplab: {args.script}: {_strerror(e)}\n")
        return 2
    return run_lines(shell, text.splitlines(), args.script)
