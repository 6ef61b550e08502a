"""``swaplab simulate``: run a workload in virtual time and report the leaks over time.

    swaplab simulate WORKLOAD [--kernel V] [--patches LIST] [--duration 60s] [--seed S]
                     [--cpus N] [--page-cluster N] [--plot FILE.png|.svg] [--json]
                     [--csv FILE] [--compare 2.6.30,2.6.31] [--sweep KEY=V1,V2]
                     [--jobs N] [--backend local|ray] [--ray-address ADDR]
                     [--budget 30s] [--checkpoint FILE [--checkpoint-every 10s]]
                     [--resume FILE]

WORKLOAD is a built-in name (``swaplab simulate --list``) or a TOML file. ``--compare``
runs each kernel (``2.6.30``, ``rfc-2009-05-26``, ``2.6.31``, or ``2.6.30:1+2+4`` for a
preset plus patches) on the same seed; ``--sweep`` runs the product of parameter values
(kernel, page_cluster, limit, seed, cpus).

Stopping: the first Ctrl-C (SIGINT) or SIGTERM ends every run at its next sample and
reports what was sampled so far (the table over the partial series, "interrupted"; with
--json the series up to the stop and "interrupted": true, "stopped": "interrupted"); a
second one exits at once. ``--budget 30s`` (wall time) ends the runs the same way
("stopped": "budget").

Checkpoints (one run: no --compare or --sweep): ``--checkpoint FILE`` saves the whole
simulated machine at a sample every --checkpoint-every of wall time and when the run is
stopped; ``--resume FILE`` goes on from it, with the same workload and options, to the
same series an uninterrupted run gives. A checkpoint of another swaplab version or of
another run is refused (exit status 2). See docs/checkpoints.md.

Exit status: 0 (also after a --budget stop), 1 when a run broke an invariant or hit a
kernel bug, 2 for a bad command line or workload, 130 after SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from typing import Any

from swaplab import interrupt
from swaplab.interrupt import EXIT_INTERRUPTED, Aborted, StopRequest, interruptible
from swaplab.kernel.config import ConfigError, make_config
from swaplab.workload.checkpoint import CheckpointError
from swaplab.workload.metrics import GLOBAL_METRICS, GROUP_METRICS
from swaplab.workload.spec import BUILTINS, WorkloadError, load_workload, parse_duration
from swaplab.workload.sweep import RunSpec, parse_sweep, run_many, sweep_specs

__all__ = ["add_parser", "run"]


def _natural(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not positive")
    return value


def _configure(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("workload", nargs="?", help="a built-in workload or a TOML file")
    p.add_argument("--list", action="store_true", help="list the built-in workloads")
    p.add_argument("--kernel", default="2.6.31", help="2.6.30, 2.6.31 or rfc-2009-05-26")
    p.add_argument("--patches", help="patches on top of 2.6.30 (e.g. 1,2,4)")
    p.add_argument("--fixes", metavar="ID[,ID]",
                   help="later fixes on top of the kernel, by 12-hex commit id")
    p.add_argument("--duration", help="virtual time to run (e.g. 60s; default: the workload's)")
    p.add_argument("--seed", type=int, default=0, help="the seed that replays the run")
    p.add_argument("--cpus", type=_positive, default=1, help="CPUs running threads at once")
    p.add_argument("--page-cluster", type=_natural, help="/proc/sys/vm/page-cluster")
    p.add_argument("--plot", metavar="FILE", help="draw the run(s) to FILE.png or FILE.svg")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.add_argument("--csv", metavar="FILE", help="write every sample to FILE")
    p.add_argument("--compare", metavar="K1,K2", help="run these kernels on the same seed")
    p.add_argument("--sweep", action="append", default=[], metavar="KEY=V1,V2",
                   help="run every combination (kernel, page_cluster, limit, seed, cpus)")
    p.add_argument("--jobs", type=_positive, default=1, help="parallel runs (comparisons)")
    p.add_argument("--backend", choices=["local", "ray"], default="local")
    p.add_argument("--ray-address", help="a Ray cluster (with --backend ray)")
    interrupt.add_stop_arguments(p, "the run")
    return p


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``simulate`` to the ``swaplab`` subcommands."""
    p = subparsers.add_parser("simulate", help="run a workload in virtual time (leaks over time)",
                              description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    return _configure(p)


def _specs(args: argparse.Namespace) -> list[RunSpec]:
    wl = load_workload(args.workload)
    duration = parse_duration(args.duration) if args.duration else None
    base = RunSpec(wl, args.kernel, args.patches, args.seed, args.cpus, duration,
                   args.page_cluster, args.fixes)
    sweep = parse_sweep(args.sweep)
    if args.compare:
        if "kernel" in sweep:
            raise WorkloadError("--compare and --sweep kernel=... do not go together")
        sweep = {"kernel": [k for k in args.compare.split(",") if k], **sweep}
    specs = sweep_specs(base, sweep)
    for spec in specs:
        make_config(spec.kernel, spec.patches, spec.fixes)  # ConfigError early, before any run
    return specs


def run(args: argparse.Namespace) -> int:
    """Run ``swaplab simulate``; the exit status."""
    if args.list:
        for name, wl in BUILTINS.items():
            print(f"{name:16} {wl.description}")
        return 0
    if not args.workload:
        print("swaplab simulate: error: a WORKLOAD is required (see --list)", file=sys.stderr)
        return 2
    try:
        specs = _specs(args)
    except (WorkloadError, ConfigError) as exc:
        print(f"swaplab simulate: error: {exc}", file=sys.stderr)
        return 2
    if args.plot and not args.plot.lower().endswith((".png", ".svg")):
        print("swaplab simulate: error: --plot needs a .png or .svg file", file=sys.stderr)
        return 2
    if (args.checkpoint or args.resume) and len(specs) != 1:
        print("swaplab simulate: error: --checkpoint and --resume take one run (no --compare "
              "or --sweep)", file=sys.stderr)
        return 2
    try:
        with interruptible(args.budget) as stop:
            return _run_and_report(args, specs, stop)
    except CheckpointError as exc:
        print(f"swaplab simulate: error: {exc}", file=sys.stderr)
        return 2
    except Aborted as exc:
        print(f"swaplab simulate: aborted by a second {exc}", file=sys.stderr)
        return EXIT_INTERRUPTED


def _run_and_report(args: argparse.Namespace, specs: list[RunSpec], stop: StopRequest) -> int:
    """Run, write the outputs, and the exit status (see the module docstring)."""
    results = _run_all(args, specs, stop)
    if args.csv:
        write_csv(args.csv, results)
    if args.plot:
        from swaplab.report.plots import plot_runs

        plot_runs(results, args.plot)
    if args.json:
        obj: Any = results[0] if len(results) == 1 else {"runs": results}
        print(json.dumps(obj))
    else:
        print_summary(results)
    if any(r.get("stopped") == "interrupted" for r in results):
        return EXIT_INTERRUPTED
    bad = any(r["error"] or r["invariant_violations"] for r in results)
    return 1 if bad else 0


def _run_all(args: argparse.Namespace, specs: list[RunSpec],
             stop: StopRequest) -> list[dict[str, Any]]:
    if len(specs) == 1 and (args.backend == "local" or args.checkpoint or args.resume):
        return [_run_one(args, specs[0], stop)]
    return run_many(specs, args.jobs, args.backend, args.ray_address)


def _run_one(args: argparse.Namespace, spec: RunSpec, stop: StopRequest) -> dict[str, Any]:
    """One run in this process (resumed from --resume, checkpointed to --checkpoint), with
    a progress bar on a terminal."""
    from swaplab.workload import checkpoint
    from swaplab.workload.sim import Simulation

    run = checkpoint.identity(spec)
    sim = checkpoint.load(args.resume, run) if args.resume else Simulation(
        spec.workload, spec.kernel, spec.patches, spec.seed, spec.cpus, spec.duration_ns,
        spec.page_cluster, fixes=spec.fixes)
    saver = checkpoint.Checkpointer(args.checkpoint, run, args.checkpoint_every) \
        if args.checkpoint else None
    if not sys.stderr.isatty():
        return sim.run(stop=stop, on_sample=saver).to_json()
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(),
                  TextColumn("{task.completed:.1f}/{task.total:.0f} s virtual"),
                  TimeElapsedColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(f"{spec.workload.name} on {spec.kernel}",
                            total=sim.duration_ns / 1e9)
        result = sim.run(lambda t: bar.update(task, completed=t), stop, saver)
    return result.to_json()


def _label(run: dict[str, Any]) -> str:
    return f"{run['kernel']} pc={run['page_cluster']}"


def print_summary(results: list[dict[str, Any]]) -> None:
    """The summary table (final / max of each metric, per run) and what broke."""
    from rich.console import Console
    from rich.table import Table

    first = results[0]
    table = Table(title=f"{first['workload']}: {first['duration_s']:g} s virtual, "
                        f"seed {first['seed']}, {first['cpus']} CPU(s)")
    table.add_column("metric")
    for r in results:
        table.add_column(f"{_label(r)}\nfinal / max", justify="right")
    for name in GLOBAL_METRICS:
        table.add_row(name, *(_cell(r["summary"][name]) for r in results))
    paths: dict[str, None] = {}
    for r in results:
        for path in r["summary"]["usage"]:
            paths[path] = None
    for path in list(paths)[:8]:
        for gname in GROUP_METRICS:
            table.add_row(f"{gname} {path}",
                          *(_cell(r["summary"][gname].get(path)) for r in results))
    console = Console(width=max(100, 24 + 22 * len(results)))
    console.print(table)
    for r in results:
        counters = ", ".join(f"{k}={v}" for k, v in r["counters"].items())
        console.print(f"{_label(r)}: {counters}", highlight=False)
        if r["error"]:
            console.print(f"  [bold red]{r['error']}[/]")
        for v in r["invariant_violations"][:5]:
            console.print(f"  invariant broken: {v}", highlight=False)
        more = len(r["invariant_violations"]) - 5
        if more > 0:
            console.print(f"  ... and {more} more")
    _print_stopped(console, results)


def _print_stopped(console: Any, results: list[dict[str, Any]]) -> None:
    """One line when the runs were stopped early: why, and how far they got."""
    stopped = [r for r in results if r.get("stopped")]
    if not stopped:
        return
    why = "interrupted" if stopped[0]["stopped"] == "interrupted" else "stopped by the budget"
    reached = ", ".join(f"{r['series']['t'][-1]:g} s" if r["series"]["t"] else "not started"
                        for r in stopped)
    console.print(f"{why}: sampled up to {reached} of {stopped[0]['duration_s']:g} s "
                  "virtual (the table covers the samples so far)", highlight=False)


def _cell(summary: dict[str, Any] | None) -> str:
    if not summary or (summary["final"] is None and summary["max"] is None):
        return "-"
    final = "-" if summary["final"] is None else str(summary["final"])
    return f"{final} / {summary['max']}"


def write_csv(path: str, results: list[dict[str, Any]]) -> None:
    """One row per sample per run: run identity, time, event, every metric, per group."""
    paths: dict[str, None] = {}
    for r in results:
        for path_ in r["series"]["usage"]:
            paths[path_] = None
    header = ["kernel", "patches", "page_cluster", "seed", "t", "event", *GLOBAL_METRICS]
    header += [f"{g}:{p}" for p in paths for g in GROUP_METRICS]
    with open(path, "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(header)
        for r in results:
            s = r["series"]
            for i, t in enumerate(s["t"]):
                row: list[Any] = [r["kernel"], "+".join(r["patches"]), r["page_cluster"],
                                  r["seed"], t, s["event"][i] or ""]
                row += [s[m][i] for m in GLOBAL_METRICS]
                for p in paths:
                    for g in GROUP_METRICS:
                        vals = s[g].get(p)
                        row.append("" if vals is None or vals[i] is None else vals[i])
                out.writerow(row)


def main(argv: list[str] | None = None) -> int:
    """``python -m swaplab.workload``: the same command on its own."""
    parser = _configure(argparse.ArgumentParser(prog="swaplab simulate", description=__doc__,
                                                formatter_class=argparse.RawDescriptionHelpFormatter))
    return run(parser.parse_args(argv))


