"""Workload descriptions: the machine, the groups, the processes, and the TOML vocabulary.

A workload file (``tomllib``) looks like::

    name = "my-loop"
    description = "three tasks under a 2M limit, killed every 3 s"
    duration = "30s"            # default run length (the command line may override it)
    sample = "250ms"            # metrics are sampled (and invariants checked) this often

    [machine]
    ram = "16M"
    swap = "16M"
    page_cluster = 3
    swappiness = 60
    gc_threshold = 4096         # RFC 5/5's cache-only threshold (kernels with 5/5)
    kswapd = true

    [io]
    cpu_step = "1us"            # virtual time of one kernel step on a CPU
    timed_sleeps = false        # kernel timed sleeps (congestion_wait) take virtual time
    swap_read = "2ms"           # latency of one swap read (page-cluster reads each take it)
    swap_write = "2ms"

    [[group]]
    path = "/A"
    limit = "2M"
    memsw_limit = "8M"          # optional

    [[tasks]]
    group = "/A"
    count = 3
    size = "1M"                 # one private anonymous mapping of this size
    pattern = "sequential"      # or "uniform", "hotcold"
    hot_fraction = 0.2          # hotcold: the hot part of the mapping ...
    hot_share = 0.8             # ... gets this share of the touches
    write = "always"            # or "first" (write on the first pass, read after), "never"
    think = "50us"              # user time between two touches
    passes = 0                  # 0 = forever; else exit after that many passes
    lifetime = "0s"             # 0 = forever; else exit after that long
    restart = true              # an exited or killed task is replaced ...
    restart_delay = "500ms"     # ... after this long, in the group's current directory
    fork_every = "0s"           # 0 = never; else fork a child that touches once and exits
    start = "0s"

    [[killer]]                  # kill every task of the group every `every`
    group = "/A"
    every = "3s"
    settle = "100ms"            # after the last victim exited: wait, then sample ("kill")

    [[mover]]                   # move the group's tasks to a new group, rmdir the old one
    group = "/A"
    every = "2s"
    kill = false                # true: rounds instead of moves (below)
    keep = 1                    # kill: groups alive at once

With ``kill = true`` the mover runs rounds: every ``every`` it makes a new sibling group
with the same limits and starts there a fresh generation of the group's [[tasks]] (give
them ``restart = false``); then, while more than ``keep`` generations are alive, it kills
every task of the oldest one, waits until they have exited and removes its group.

Sizes take K/M/G suffixes; times take ns/us/ms/s (a bare number is seconds).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from swaplab.system import parse_size

__all__ = [
    "BUILTINS",
    "GroupSpec",
    "IoSpec",
    "KillerSpec",
    "MachineSpec",
    "MoverSpec",
    "TaskSpec",
    "Workload",
    "WorkloadError",
    "load_workload",
    "parse_duration",
]

NS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000, "m": 60_000_000_000}
_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ns|us|ms|s|m)?\s*")


class WorkloadError(ValueError):
    """A workload that cannot be run: unknown name, bad TOML, bad value (one line)."""


def parse_duration(text: str | int | float) -> int:
    """Nanoseconds from ``"60s"``, ``"500ms"``, ``"2us"``, ``"1m"`` or a number of seconds."""
    if isinstance(text, bool):
        raise WorkloadError(f"not a duration: {text!r}")
    if isinstance(text, int | float):
        if text < 0:
            raise WorkloadError(f"negative duration: {text!r}")
        return int(text * NS["s"])
    match = _DURATION.fullmatch(text)
    if match is None:
        raise WorkloadError(f"not a duration: {text!r} (use ns, us, ms, s or m)")
    return int(float(match.group(1)) * NS[match.group(2) or "s"])


@dataclass(frozen=True, slots=True)
class MachineSpec:
    ram: int = 16 << 20
    swap: int = 16 << 20
    page_cluster: int = 3
    swappiness: int = 60
    gc_threshold: int | None = None
    kswapd: bool = True


@dataclass(frozen=True, slots=True)
class IoSpec:
    """Virtual-time costs. ``timed_sleeps``: a kernel path's timed sleep (congestion_wait(),
    schedule_timeout()) sleeps in virtual time until its deadline; off (the default),
    it costs no virtual time and only moves jiffies (which then run ahead of the virtual
    clock by what the kernel slept). Off by default because the built-in workloads were
    scaled to rounds of 0.4 s, shorter than 2.6.30's memcg reclaim stalls (each reclaim
    pass of a small group that scanned below priority 10 waits HZ/10), so with it on
    their leaks need much longer runs to show."""

    cpu_step_ns: int = 1_000
    swap_read_ns: int = 2_000_000
    swap_write_ns: int = 2_000_000
    timed_sleeps: bool = False


@dataclass(frozen=True, slots=True)
class GroupSpec:
    path: str
    limit: int | None = None
    memsw_limit: int | None = None


@dataclass(frozen=True, slots=True)
class TaskSpec:
    group: str
    count: int = 1
    size: int = 1 << 20
    pattern: str = "sequential"
    hot_fraction: float = 0.2
    hot_share: float = 0.8
    write: str = "always"
    think_ns: int = 50_000
    passes: int = 0
    lifetime_ns: int = 0
    restart: bool = True
    restart_delay_ns: int = 500_000_000
    fork_every_ns: int = 0
    start_ns: int = 0


@dataclass(frozen=True, slots=True)
class KillerSpec:
    group: str
    every_ns: int = 3_000_000_000
    settle_ns: int = 100_000_000


@dataclass(frozen=True, slots=True)
class MoverSpec:
    group: str
    every_ns: int = 2_000_000_000
    kill: bool = False
    keep: int = 1


@dataclass(frozen=True, slots=True)
class Workload:
    name: str
    description: str = ""
    duration_ns: int = 30 * NS["s"]
    sample_ns: int = 250 * NS["ms"]
    machine: MachineSpec = field(default_factory=MachineSpec)
    io: IoSpec = field(default_factory=IoSpec)
    groups: tuple[GroupSpec, ...] = ()
    tasks: tuple[TaskSpec, ...] = ()
    killers: tuple[KillerSpec, ...] = ()
    movers: tuple[MoverSpec, ...] = ()

    def with_machine(self, **changes: Any) -> Workload:
        return replace(self, machine=replace(self.machine, **changes))


# ---------------------------------------------------------------------------------------
# TOML


_PATTERNS = ("sequential", "uniform", "hotcold")
_WRITES = ("always", "first", "never")


class _Table:
    """One TOML table read key by key; unknown keys are an error."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise WorkloadError(f"{where}: expected a table")
        self.data: dict[str, Any] = dict(data)
        self.where = where

    def _take(self, key: str, kinds: tuple[type, ...], default: Any) -> Any:
        if key not in self.data:
            return default
        value = self.data.pop(key)
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            names = " or ".join(k.__name__ for k in kinds)
            raise WorkloadError(f"{self.where}.{key}: expected {names}, got {value!r}")
        return value

    def text(self, key: str, default: str | None = None, choices: tuple[str, ...] = ()) -> Any:
        value = self._take(key, (str,), default)
        if choices and value not in choices:
            raise WorkloadError(f"{self.where}.{key}: {value!r} is not one of "
                                f"{', '.join(choices)}")
        return value

    def integer(self, key: str, default: int, low: int = 0) -> int:
        value: int = self._take(key, (int,), default)
        if value < low:
            raise WorkloadError(f"{self.where}.{key}: {value} is below {low}")
        return value

    def fraction(self, key: str, default: float) -> float:
        value = float(self._take(key, (int, float), default))
        if not 0.0 <= value <= 1.0:
            raise WorkloadError(f"{self.where}.{key}: {value} is not in [0, 1]")
        return value

    def flag(self, key: str, default: bool) -> bool:
        return bool(self._take(key, (bool,), default))

    def size(self, key: str, default: int | None) -> int | None:
        value = self._take(key, (str, int), None)
        if value is None:
            return default
        try:
            return parse_size(value)
        except ValueError as exc:
            raise WorkloadError(f"{self.where}.{key}: {exc}") from None

    def duration(self, key: str, default: int) -> int:
        value = self._take(key, (str, int, float), None)
        if value is None:
            return default
        try:
            return parse_duration(value)
        except WorkloadError as exc:
            raise WorkloadError(f"{self.where}.{key}: {exc}") from None

    def done(self) -> None:
        if self.data:
            raise WorkloadError(f"{self.where}: unknown key {next(iter(self.data))!r}")


def _list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.pop(key, [])
    if not isinstance(value, list):
        raise WorkloadError(f"[[{key}]]: expected an array of tables")
    return value


def _group_path(t: _Table, key: str = "group") -> str:
    path: str | None = t.text(key)
    if path is None or not path.startswith("/") or path == "/":
        raise WorkloadError(f"{t.where}.{key}: a group path such as \"/A\" is required")
    return path.rstrip("/")


def _machine(data: Any) -> MachineSpec:
    t = _Table(data, "machine")
    d = MachineSpec()
    ram = t.size("ram", d.ram)
    swap = t.size("swap", d.swap)
    m = MachineSpec(ram=ram if ram is not None else d.ram,
                    swap=swap if swap is not None else d.swap,
                    page_cluster=t.integer("page_cluster", d.page_cluster),
                    swappiness=t.integer("swappiness", d.swappiness),
                    gc_threshold=t._take("gc_threshold", (int,), None),
                    kswapd=t.flag("kswapd", d.kswapd))
    t.done()
    if m.ram < 256 << 10:
        raise WorkloadError("machine.ram: at least 256K")
    if m.swappiness > 100:
        raise WorkloadError("machine.swappiness: at most 100")
    return m


def _io(data: Any) -> IoSpec:
    t = _Table(data, "io")
    d = IoSpec()
    io = IoSpec(cpu_step_ns=t.duration("cpu_step", d.cpu_step_ns),
                swap_read_ns=t.duration("swap_read", d.swap_read_ns),
                swap_write_ns=t.duration("swap_write", d.swap_write_ns),
                timed_sleeps=t.flag("timed_sleeps", d.timed_sleeps))
    t.done()
    return io


def _group(data: Any, i: int) -> GroupSpec:
    t = _Table(data, f"group[{i}]")
    g = GroupSpec(_group_path(t, "path"), t.size("limit", None), t.size("memsw_limit", None))
    t.done()
    return g


def _task(data: Any, i: int) -> TaskSpec:
    t = _Table(data, f"tasks[{i}]")
    d = TaskSpec("/")
    size = t.size("size", d.size)
    spec = TaskSpec(
        group=_group_path(t), count=t.integer("count", d.count, 1),
        size=size if size is not None else d.size,
        pattern=t.text("pattern", d.pattern, _PATTERNS),
        hot_fraction=t.fraction("hot_fraction", d.hot_fraction),
        hot_share=t.fraction("hot_share", d.hot_share),
        write=t.text("write", d.write, _WRITES),
        think_ns=t.duration("think", d.think_ns), passes=t.integer("passes", d.passes),
        lifetime_ns=t.duration("lifetime", d.lifetime_ns), restart=t.flag("restart", d.restart),
        restart_delay_ns=t.duration("restart_delay", d.restart_delay_ns),
        fork_every_ns=t.duration("fork_every", d.fork_every_ns),
        start_ns=t.duration("start", d.start_ns))
    t.done()
    if spec.size < 4096:
        raise WorkloadError(f"tasks[{i}].size: at least one page (4K)")
    return spec


def _killer(data: Any, i: int) -> KillerSpec:
    t = _Table(data, f"killer[{i}]")
    d = KillerSpec("/")
    spec = KillerSpec(_group_path(t), t.duration("every", d.every_ns),
                      t.duration("settle", d.settle_ns))
    t.done()
    if spec.every_ns <= 0:
        raise WorkloadError(f"killer[{i}].every: must be positive")
    return spec


def _mover(data: Any, i: int) -> MoverSpec:
    t = _Table(data, f"mover[{i}]")
    d = MoverSpec("/")
    spec = MoverSpec(_group_path(t), t.duration("every", d.every_ns), t.flag("kill", d.kill),
                     t.integer("keep", d.keep, 1))
    t.done()
    if spec.every_ns <= 0:
        raise WorkloadError(f"mover[{i}].every: must be positive")
    return spec


def workload_from_dict(data: dict[str, Any], default_name: str) -> Workload:
    """A :class:`Workload` from parsed TOML; :class:`WorkloadError` on anything wrong."""
    data = dict(data)
    groups = tuple(_group(g, i) for i, g in enumerate(_list(data, "group")))
    tasks = tuple(_task(g, i) for i, g in enumerate(_list(data, "tasks")))
    killers = tuple(_killer(g, i) for i, g in enumerate(_list(data, "killer")))
    movers = tuple(_mover(g, i) for i, g in enumerate(_list(data, "mover")))
    machine = _machine(data.pop("machine", {}))
    io = _io(data.pop("io", {}))
    top = _Table(data, "workload")
    d = Workload("")
    wl = Workload(name=top.text("name", default_name), description=top.text("description", ""),
                  duration_ns=top.duration("duration", d.duration_ns),
                  sample_ns=top.duration("sample", d.sample_ns),
                  machine=machine, io=io, groups=groups, tasks=tasks, killers=killers,
                  movers=movers)
    top.done()
    _check_groups(wl)
    return wl


def _check_groups(wl: Workload) -> None:
    known = [g.path for g in wl.groups]
    if len(set(known)) != len(known):
        raise WorkloadError("group: a path is listed twice")
    for g in wl.groups:
        parent = g.path.rpartition("/")[0]
        if parent and parent not in known:
            raise WorkloadError(f"group {g.path}: its parent {parent} is not listed before it")
    for kind, items in (("tasks", wl.tasks), ("killer", wl.killers), ("mover", wl.movers)):
        for item in items:
            if item.group not in known:
                raise WorkloadError(f"{kind}: group {item.group} is not listed in [[group]]")
    if not wl.tasks:
        raise WorkloadError("workload: no [[tasks]]")
    if wl.sample_ns <= 0:
        raise WorkloadError("workload.sample: must be positive")


def load_workload(name: str) -> Workload:
    """A built-in workload by name, or a TOML file by path."""
    if name in BUILTINS:
        return BUILTINS[name]
    path = Path(name)
    if not path.exists():
        raise WorkloadError(f"no workload {name!r} (built-in: {', '.join(BUILTINS)}; "
                            "or a .toml file)")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise WorkloadError(f"{path}: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkloadError(f"{path}: {exc}") from None
    try:
        return workload_from_dict(data, path.stem)
    except WorkloadError as exc:
        raise WorkloadError(f"{path}: {exc}") from None


# ---------------------------------------------------------------------------------------
# Built-in workloads: the reproducers of the 2009 "memcg: fix swap account" discussion
# (Kamezawa's kill loop, Nishimura's move-and-rmdir loop) and their variants

_S = NS["s"]
_MS = NS["ms"]

BUILTINS: dict[str, Workload] = {
    "stale-swapcache": Workload(
        name="stale-swapcache",
        description="Kamezawa's kill loop: a 2M limit, three tasks each touching 1M in a "
                    "loop, all killed every 3 s and restarted; after each kill memsw.usage "
                    "should equal usage",
        duration_ns=30 * _S, sample_ns=250 * _MS,
        machine=MachineSpec(ram=16 << 20, swap=16 << 20),
        groups=(GroupSpec("/A", limit=2 << 20),),
        tasks=(TaskSpec("/A", count=3, size=1 << 20, restart_delay_ns=100 * _MS),),
        killers=(KillerSpec("/A", every_ns=3 * _S),),
    ),
    "stale-swapcache-fast": Workload(
        name="stale-swapcache-fast",
        description="stale-swapcache scaled down for short runs (the tests and `swaplab "
                    "claims` use it): a 1M limit, three tasks of 512K, all killed every "
                    "0.4 s and restarted 60 ms later",
        duration_ns=5 * _S, sample_ns=250 * _MS,
        machine=MachineSpec(ram=16 << 20, swap=16 << 20),
        groups=(GroupSpec("/A", limit=1 << 20),),
        tasks=(TaskSpec("/A", count=3, size=512 << 10, restart_delay_ns=60 * _MS),),
        killers=(KillerSpec("/A", every_ns=400 * _MS, settle_ns=30 * _MS),),
    ),
    "swap-cycles": Workload(
        name="swap-cycles",
        description="one task's 2M working set under a 1M limit, swapped out and in again "
                    "and again (read after the first pass), swap far from full: cache-only "
                    "slots pile up",
        duration_ns=30 * _S, sample_ns=250 * _MS,
        machine=MachineSpec(ram=16 << 20, swap=16 << 20),
        groups=(GroupSpec("/A", limit=1 << 20),),
        tasks=(TaskSpec("/A", count=1, size=2 << 20, write="first", pattern="uniform"),),
    ),
    "move-and-rmdir": Workload(
        name="move-and-rmdir",
        description="Nishimura's rmdir loop under memcg pressure, as rounds: every 0.4 s a "
                    "new group (512K limit) gets three fresh tasks of 256K touching in a "
                    "loop; the group two rounds old has its tasks killed while the younger "
                    "ones fault with readahead, then it is removed. A removed group whose "
                    "swap records outlive every reference (Type-1) cannot be freed",
        duration_ns=30 * _S, sample_ns=250 * _MS,
        machine=MachineSpec(ram=16 << 20, swap=16 << 20),
        groups=(GroupSpec("/A", limit=512 << 10),),
        tasks=(TaskSpec("/A", count=3, size=256 << 10, restart=False),),
        movers=(MoverSpec("/A", every_ns=400 * _MS, kill=True, keep=2),),
    ),
    "move-only": Workload(
        name="move-only",
        description="tasks moved to a new group and the old group removed, every second "
                    "(three of 512K under a 1M limit, each living 1.5 s, then replaced): "
                    "rmdir moves the resident charges to the root, so the pressure (and "
                    "the swapping) fades after the first move",
        duration_ns=30 * _S, sample_ns=250 * _MS,
        machine=MachineSpec(ram=16 << 20, swap=16 << 20),
        groups=(GroupSpec("/A", limit=1 << 20),),
        tasks=(TaskSpec("/A", count=3, size=512 << 10, lifetime_ns=1500 * _MS,
                        restart_delay_ns=100 * _MS),),
        movers=(MoverSpec("/A", every_ns=1 * _S),),
    ),
    "swap-full": Workload(
        name="swap-full",
        description="the kill loop on a small swap device (1.25M: vm_swap_full() above "
                    "160 slots): three tasks of 384K under a 512K limit, killed every 0.4 s; "
                    "orphaned cache-only slots pile up unless something reclaims them "
                    "(5/5's GC threshold lowered from 4096 to 8 to fit the device)",
        duration_ns=8 * _S, sample_ns=250 * _MS,
        machine=MachineSpec(ram=16 << 20, swap=1280 << 10, gc_threshold=8),
        io=IoSpec(swap_read_ns=4 * _MS),
        groups=(GroupSpec("/A", limit=512 << 10),),
        tasks=(TaskSpec("/A", count=3, size=384 << 10, restart_delay_ns=60 * _MS),),
        killers=(KillerSpec("/A", every_ns=400 * _MS, settle_ns=30 * _MS),),
    ),
}
