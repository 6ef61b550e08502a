"""The workload simulator: the kernel model driven in virtual time by workload processes.

See ``driver.py`` (the virtual-time scheduler), ``spec.py`` (workloads, TOML), ``procs.py``
(the processes), ``metrics.py``, ``sim.py`` (one run), ``parallel.py`` (runs that stop cleanly),
``checkpoint.py`` (checkpoints and resuming) and ``command.py`` (``swaplab simulate``).
"""

from swaplab.workload.driver import Latencies, Sleep, VirtualDriver, sleep
from swaplab.workload.sim import Result, Simulation, simulate
from swaplab.workload.spec import BUILTINS, Workload, WorkloadError, load_workload

__all__ = [
    "BUILTINS",
    "Latencies",
    "Result",
    "Simulation",
    "Sleep",
    "VirtualDriver",
    "Workload",
    "WorkloadError",
    "load_workload",
    "simulate",
    "sleep",
]
