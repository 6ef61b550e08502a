"""The scenario API: a named setup, its threads, its properties and its default bounds.

A :class:`Scenario` builds a fresh :class:`~swaplab.explore.Instance` for every run from its
:class:`ScenarioOptions` (kernel version, patch list, page-cluster): any Python object as the
state (a swaplab ``Kernel`` for kernel scenarios), threads spawned through
``Execution.spawn(name, coroutine, ctx)`` (a kernel scenario spawns into ``k.execution``,
with a ``sync.Current`` as ctx), and properties made with ``always``/``at_end``/``sometimes``.
``build`` must be a module-level function so the parallel backends can pickle the model.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from swaplab.explore.canonical import NO_RULES, Rules
from swaplab.explore.execution import Execution
from swaplab.explore.model import Instance, Model, Property
from swaplab.explore.ops import ThreadBody


@dataclass(frozen=True, slots=True)
class ScenarioOptions:
    """What a scenario is built for. ``None``: the scenario's default. ``policy`` is the
    scheduling policy it is explored under (:mod:`swaplab.explore.policy`; None: fair).
    ``fixes``: later fixes on top of the kernel (commit ids of ``kernel.config.FIXES``)."""

    kernel: str | None = None
    patches: tuple[str, ...] | None = None
    page_cluster: int | None = None
    policy: str | None = None
    fixes: tuple[str, ...] = ()

    @property
    def schedules(self) -> str:
        """The policy's name ("fair" unless another was asked for)."""
        return self.policy or "fair"


#: The tag of the explorer's own models (no kernel): not in the product's scenario list.
ENGINE = "engine"


@dataclass(frozen=True, slots=True)
class Scenario:
    """A named race or model, with the bounds it is usually explored with. ``tags``:
    "kernel" for the kernel's races, :data:`ENGINE` for the explorer's own models."""

    name: str
    description: str
    build: Callable[[ScenarioOptions], Instance]
    kernel_options: bool = False  # whether --kernel/--patches/--fixes/--page-cluster mean anything
    default_kernel: str | None = None
    strategy: str = "dpor"
    preemption_bound: int | None = None
    max_executions: int | None = None
    max_steps: int | None = None
    tags: tuple[str, ...] = field(default=())
    depth: int = 2  # pct's bug depth d when pct is the strategy

    def model(self, options: ScenarioOptions | None = None) -> Model:
        """A picklable zero-argument model building this scenario for ``options``."""
        return functools.partial(self.build, options or ScenarioOptions())


def new_instance(
    state: Any,
    threads: Iterable[tuple[str, ThreadBody, Any]] = (),
    properties: Sequence[Property] = (),
    *,
    execution: Execution | None = None,
    fingerprint: Callable[[Any], bytes] | None = None,
    finish: Callable[[Any], None] | None = None,
    max_steps: int = 10_000,
    quiescent: Callable[[Any], bool] | None = None,
    name: str = "",
    cpus: Sequence[int | None] = (),
    rules: Rules = NO_RULES,
) -> Instance:
    """An instance with ``threads`` (name, coroutine, ctx) spawned into ``execution`` (a new
    one by default; a kernel scenario passes ``k.execution``). ``cpus``: the CPU of each
    thread, in order, for the explorer's CPU model (``swaplab.explore.cpus``: threads on
    one number share that CPU, which nobody preempts); a thread past its end, or None, runs
    on a CPU of its own (the default). ``rules``: how state caching encodes the model's
    classes (:mod:`swaplab.explore.canonical`)."""
    execution = execution if execution is not None else Execution()
    for i, (thread_name, body, ctx) in enumerate(threads):
        execution.spawn(thread_name, body, ctx, cpus[i] if i < len(cpus) else None)
    return Instance(execution, state, properties, fingerprint=fingerprint, finish=finish,
                    max_steps=max_steps, quiescent=quiescent, name=name, rules=rules)
