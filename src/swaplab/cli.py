"""The ``swaplab`` command: parse, call, render. Nothing else lives here."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, NoReturn

#: What ``swaplab --help`` says the tool is.
DESCRIPTION = """\
An executable model of the Linux 2.6.30 and 2.6.31 swap subsystem and memory controller
(cgroup v1, memsw), for the 2009 series "memcg: fix swap account": run its cgroup files and
tasks (sh), explore the interleavings of its kernel paths for races (scenarios, check,
replay), search generated small states for races nobody wrote down (hunt), decide the cover
letter's claims (claims), and run workloads in virtual time (simulate)."""

EPILOG = "Start with `swaplab claims`, or `swaplab check type1 --kernel 2.6.30`."


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="swaplab", description=DESCRIPTION, epilog=EPILOG,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    sh = sub.add_parser("sh", help="run cgroup-v1 shell lines against a modelled machine")
    sh.add_argument("script", nargs="?", help="a script file; interactive when omitted")
    sh.add_argument("--kernel", default="2.6.31", help="2.6.30, 2.6.31 or rfc-2009-05-26")
    sh.add_argument("--ram", default="256M", help="memory size (default 256M)")
    sh.add_argument("--swap", default="512M", help="swap size, 0 for none (default 512M)")
    sh.add_argument("--page-cluster", type=int, default=3, help="/proc/sys/vm/page-cluster")
    _add_explore_commands(sub)
    from swaplab.workload import command as simulate

    simulate.add_parser(sub)
    build = sub.add_parser("build", help="compile the kernel model with mypyc (simulate then "
                           "runs about 3x as fast, claims 2.5x, with the same results)")
    build.add_argument("--jobs", type=_positive, help="C compilers at once (default: all cores)")
    return parser


def main(argv: list[str] | None = None) -> int:
    from swaplab.interrupt import EXIT_INTERRUPTED, Aborted

    try:
        return _main(argv)
    except (Aborted, KeyboardInterrupt) as err:  # a second Ctrl-C: out at once
        why = f" ({err})" if isinstance(err, Aborted) and str(err) else ""
        print(f"swaplab: aborted{why}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader went away (`swaplab check ... | head`): stop quietly, as cat does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _main(argv: list[str] | None) -> int:
    _use_build(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if args.command == "sh":
        from swaplab.shell import run_shell

        return run_shell(args)
    if args.command in _EXPLORE_COMMANDS:
        return _EXPLORE_COMMANDS[args.command](args)
    if args.command == "simulate":
        from swaplab.workload import command as simulate

        return simulate.run(args)
    if args.command == "build":
        return _cmd_build(args)
    raise AssertionError(args.command)


def _use_build(argv: list[str]) -> None:
    """``simulate``, and ``check`` with a strategy that does not fingerprint states, run
    the compiled model when this source is built (swaplab/native); ``claims``, ``hunt`` and
    a fingerprinting ``check`` the compiled state encoder beside the plain model (claims'
    workers run the compiled model). Decided before the parser is made, which imports the
    explorer."""
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    if command in ("simulate", "check", "claims", "hunt"):
        from swaplab import native

        whole = command == "simulate" or (command == "check" and not _fingerprints(argv))
        native.enable(encoder_only=not whole)


def _fingerprints(argv: list[str]) -> bool:
    """Whether a ``check`` may use a fingerprinting strategy: ``--strategy`` names one (or
    an abbreviation of it is given, as argparse accepts), or, without it, a scenario whose
    default is one appears anywhere in the arguments. In doubt, yes (the plain model is
    right for every strategy)."""
    from swaplab import native

    for i, arg in enumerate(argv):
        option, eq, value = arg.partition("=")
        if len(option) > 2 and "--strategy".startswith(option):
            if not eq:
                value = argv[i + 1] if i + 1 < len(argv) else ""
            return value in native.FINGERPRINTING or not value
    return any(arg in native.FINGERPRINTING_SCENARIOS for arg in argv)


def _cmd_build(args: argparse.Namespace) -> int:
    from swaplab.native import wanted
    from swaplab.native.build import BuildError, build

    try:
        done = build(args.jobs)
    except BuildError as err:
        print(f"swaplab build: {err}", file=sys.stderr)
        return 1
    how = "already built" if done.reused else f"built in {done.seconds:.0f} s"
    print(f"{done.modules} modules compiled with mypyc, {how}: {done.path}")
    if not wanted():
        print("SWAPLAB_NATIVE turns the build off in this environment")
    return 0


# -- scenarios, check, replay: the concurrency explorer ----------------------------------------


def _add_explore_commands(sub: Any) -> None:
    from swaplab.explore.strategies import STRATEGIES
    from swaplab.interrupt import add_stop_arguments

    scenarios = sub.add_parser("scenarios", help="list the scenarios `check` can explore")
    scenarios.add_argument("--all", action="store_true",
                           help="also the explorer's own engine models (tiny-*)")

    check = sub.add_parser("check", help="explore a scenario's interleavings and check it")
    check.add_argument("scenario", help="a scenario name (see `swaplab scenarios`)")
    check.add_argument("--kernel", help="2.6.30, 2.6.31 or rfc-2009-05-26")
    check.add_argument("--patches", help="comma-separated patch switches ('none' for none)")
    check.add_argument("--fixes", type=fixes_arg, metavar="ID[,ID]",
                       help="later fixes on top of the kernel, by 12-hex commit id")
    check.add_argument("--page-cluster", type=_natural, help="/proc/sys/vm/page-cluster")
    check.add_argument("--strategy", choices=list(STRATEGIES),
                       help="search strategy (default: the scenario's, usually dpor)")
    check.add_argument("--preemption-bound", type=_natural, metavar="K",
                       help="bound preemptions iteratively 0..K (dfs, dpor)")
    check.add_argument("--max-executions", type=_positive, metavar="N")
    check.add_argument("--max-steps", type=_positive, metavar="N", help="steps per run")
    check.add_argument("--seed", type=int, default=0, help="seed of random and pct")
    check.add_argument("--depth", type=_positive,
                       help="pct bug depth d (default: the scenario's, usually 2)")
    check.add_argument("--jobs", type=_positive,
                       help="worker processes (default: all cores) for a search still going "
                       "after a quarter of a second; a shorter one runs in this process")
    check.add_argument("--backend", choices=["local", "ray"], default="local")
    check.add_argument("--address", help="Ray cluster address (--backend ray)")
    check.add_argument("--policy", choices=["fair", "unfair"], default="fair",
                       help="schedules: fair (default: every thread on its own CPU, a "
                       "busy-wait runs after the others) or unfair (any enabled thread)")
    check.add_argument("--property", metavar="NAME",
                       help="check only this property (a bad name lists them); the "
                       "explorer's own checks (deadlock, soft-lockup, ...) stay on")
    check.add_argument("--strict", action="store_true",
                       help="notes (no defect, reported apart) count as findings")
    check.add_argument("--no-shrink", action="store_true", help="report findings unshrunk")
    check.add_argument("--first", action="store_true",
                       help="stop at the first bug finding (the search is then incomplete)")
    add_stop_arguments(check, "the search (dfs, dpor)")
    check.add_argument("--json", action="store_true", help="print one JSON object")
    check.add_argument("--html", metavar="FILE", help=_HTML_HELP.format("each finding"))

    claims = sub.add_parser("claims", help="decide each claim of the cover letter by exploration")
    claims.add_argument("--json", action="store_true", help="print one JSON array")
    claims.add_argument("--jobs", type=_positive, default=2, help="processes (default 2)")
    claims.add_argument("--explore-only", action="store_true",
                        help="skip the growth claims (workload simulator)")
    claims.add_argument("--verbose", action="store_true",
                        help="after the summary, every check of every claim")
    claims.add_argument("--no-cache", action="store_true",
                        help="decide every claim again (the results of this code version are "
                        "cached; see swaplab/cache.py)")
    claims.add_argument("--fixes", type=fixes_arg, default=(), metavar="ID[,ID]",
                        help="later fixes on top of every claim's kernel (12-hex commit ids)")
    add_stop_arguments(claims)
    claims.add_argument("--html", metavar="FILE",
                        help="also write FILE: the verdict table, each evidence linked to "
                        "its trace (stepped as in check --html)")

    _add_hunt(sub)

    replay = sub.add_parser("replay", help="re-run a finding's schedule and print its trace")
    replay.add_argument("schedule", help="a schedule text as `check` prints it")
    replay.add_argument("--fixes", type=fixes_arg, default=(), metavar="ID[,ID]",
                        help="later fixes added to the schedule's (12-hex commit ids)")
    replay.add_argument("--json", action="store_true", help="print one JSON object")
    replay.add_argument("--html", metavar="FILE", help=_HTML_HELP.format("the trace"))


def _add_hunt(sub: Any) -> None:
    from swaplab.hunt.run import FALLBACK, FALLBACK_FACTOR, MAX_EXECUTIONS
    from swaplab.interrupt import add_stop_arguments

    hunt = sub.add_parser("hunt", help="explore pairs of kernel operations over generated "
                          "small states for races nobody wrote down")
    hunt.add_argument("--kernel", default="2.6.31", help="2.6.30, 2.6.31 or rfc-2009-05-26")
    hunt.add_argument("--patches", help="comma-separated patch switches ('none' for none)")
    hunt.add_argument("--fixes", type=fixes_arg, default=(), metavar="ID[,ID]",
                      help="later fixes on top of the kernel, by 12-hex commit id")
    hunt.add_argument("--seed", type=int, default=0, help="the generator's seed")
    hunt.add_argument("--depth", type=int, choices=[2, 3], default=2,
                      help="operations per case: pairs (2) or triples (3)")
    hunt.add_argument("--max-executions", type=_positive, default=MAX_EXECUTIONS,
                      metavar="N", help=f"per case, with dpor (default {MAX_EXECUTIONS})")
    hunt.add_argument("--retry-executions", type=_natural, metavar="N",
                      help=f"a case dpor cut is explored again by {FALLBACK} (state "
                      f"caching) up to N executions (default {FALLBACK_FACTOR} x "
                      "--max-executions; 0: not again); a case cut there too is incomplete")
    hunt.add_argument("--cases", metavar="REGEX",
                      help="only the cases whose key (STATE|OP|OP) this finds")
    hunt.add_argument("--jobs", type=_positive, help="worker processes (default: all cores)")
    hunt.add_argument("--backend", choices=["local", "ray"], default="local")
    hunt.add_argument("--address", help="Ray cluster address (--backend ray)")
    add_stop_arguments(hunt)
    hunt.add_argument("--resume", metavar="FILE", help="journal of finished cases: read "
                      "(skip them) and appended to; created when missing")
    hunt.add_argument("--json", action="store_true", help="print one JSON object")
    hunt.add_argument("--html", metavar="FILE", help=_HTML_HELP.format("each finding"))
    hunt.add_argument("--replay", metavar="CASE", help="rebuild case CASE (a finding's) and "
                      "replay --schedule on it: the trace and the broken properties")
    hunt.add_argument("--schedule", help="with --replay: a finding's schedule")


_HTML_HELP = ("also write FILE: a page to step through {} (threads as columns, a step "
              "slider, arrow keys) with the state after each step and the broken properties")


def _natural(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"not a number >= 0: {text!r}")
    return int(text)


def fixes_arg(text: str) -> tuple[str, ...]:
    """``--fixes ID[,ID]``: the commit ids of kernel.config.FIXES, sorted."""
    from swaplab.kernel.config import ConfigError, parse_fixes

    try:
        return parse_fixes(text)
    except ConfigError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _positive(text: str) -> int:
    value = _natural(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"not a number >= 1: {text!r}")
    return value


def _usage(message: str) -> int:
    print(f"swaplab: error: {message}", file=sys.stderr)
    return 2


def _html_path_error(args: argparse.Namespace) -> str | None:
    """Why ``--html FILE`` cannot be written (before any work); None when it can."""
    from swaplab.report.html import path_error

    return path_error(args.html) if args.html is not None else None


def _write_html(path: str, page: Any) -> int:
    """Write ``page()`` to ``path``: 0, or 2 with one line when it cannot be written."""
    from swaplab.report.html import write_page

    try:
        write_page(path, page())
    except OSError as err:
        return _usage(f"--html: cannot write {path}: {err.strerror}")
    return 0


def _cmd_scenarios(args: argparse.Namespace) -> int:
    from swaplab.scenarios import listed_scenarios

    scenarios = listed_scenarios(args.all)
    width = max((len(name) for name in scenarios), default=0)
    for name, scenario in scenarios.items():
        print(f"{name:<{width}}  {scenario.description}")
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    import functools
    import json

    from swaplab.explore.search import Options
    from swaplab.interrupt import EXIT_INTERRUPTED, interruptible
    from swaplab.report import check_json, render_check
    from swaplab.report.html import check_page
    from swaplab.report.table import render_tables
    from swaplab.scenarios import ScenarioOptions, UnknownScenario, format_spec, get_scenario
    from swaplab.scenarios.kernel_common import broken_families, checking

    try:
        scenario = get_scenario(args.scenario)
    except UnknownScenario as err:
        return _usage(str(err))
    html_error = _html_path_error(args)
    if html_error is not None:
        return _usage(html_error)
    patches = None
    if args.patches is not None:
        patches = tuple(p for p in args.patches.split(",") if p and p != "none")
    if not scenario.kernel_options:
        given = [flag for flag, value in (("--kernel", args.kernel), ("--patches", args.patches),
                                          ("--fixes", args.fixes),
                                          ("--page-cluster", args.page_cluster))
                 if value is not None]
        if given:
            return _usage(f"{args.scenario} is an engine model: {', '.join(given)} means "
                          "nothing to it")
    policy = None if args.policy == "fair" else args.policy
    sopts = ScenarioOptions(args.kernel, patches, args.page_cluster, policy, args.fixes or ())
    model = scenario.model(sopts)
    try:
        model().execution.close()  # a setup that rejects its options is a usage error
        if args.property is not None:
            model = checking(model, args.property)
    except (ValueError, KeyError) as err:
        return _usage(f"{args.scenario}: {err}")
    options = Options(
        strategy=args.strategy or scenario.strategy,
        preemption_bound=(args.preemption_bound if args.preemption_bound is not None
                          else scenario.preemption_bound),
        max_executions=(args.max_executions if args.max_executions is not None
                        else scenario.max_executions),
        seed=args.seed, depth=args.depth if args.depth is not None else scenario.depth,
        max_steps=args.max_steps or scenario.max_steps,
        shrink=not args.no_shrink, policy=args.policy, strict=args.strict,
        stop_on_first=args.first)
    try:
        checkpoint = _checkpointing(args, scenario.name, sopts, options)
    except ValueError as err:
        return _usage(str(err))
    with interruptible(args.budget):
        result = _explore(args, scenario.name, model, options, checkpoint)

    def spec(decisions: list[tuple[int, int]]) -> str:
        return format_spec(scenario.name, sopts, decisions)

    kernel = args.kernel or scenario.default_kernel
    if args.json:
        print(json.dumps(check_json(result, scenario=scenario.name, kernel=kernel,
                                    patches=patches, spec=spec, fixes=sopts.fixes), indent=2))
    else:
        print(render_check(result, scenario=scenario.name, spec=spec), end="")
        if "kernel" in scenario.tags and result.stopped is None:
            broken = functools.partial(broken_families, scenario.model(sopts),
                                       max_steps=scenario.max_steps, policy=sopts.schedules)
            print(render_tables(result, scenario.name, broken), end="")
    if args.html is not None and _write_html(args.html, functools.partial(
            check_page, result, scenario.name, spec, options.max_steps)):
        return 2
    if result.stopped == "interrupted":
        return EXIT_INTERRUPTED
    return 1 if result.status == "found" else 0


def _checkpointing(args: argparse.Namespace, name: str, sopts: Any, options: Any) -> Any:
    """The ``--checkpoint``/``--resume`` set-up (None without them); a ValueError (one
    line) for a checkpoint that does not belong to this run, or options they do not fit."""
    import dataclasses

    from swaplab.explore.checkpoint import CheckpointError, Checkpointing, identity, load
    from swaplab.explore.strategies import get_strategy, resumable_names

    if args.checkpoint is None and args.resume is None:
        return None
    if not get_strategy(options.strategy).resumable:
        raise ValueError(f"checkpoints are for {resumable_names()}, not {options.strategy}")
    if args.backend != "local" or (args.jobs or 1) > 1:
        raise ValueError("checkpoints need one process: --jobs 1 (and the local backend)")
    ident = identity(name, dataclasses.asdict(sopts), options)
    try:
        resume = load(args.resume, ident) if args.resume is not None else None
    except CheckpointError as err:
        raise ValueError(str(err)) from None
    return Checkpointing(ident, args.checkpoint, args.checkpoint_every, resume)


def _explore(args: argparse.Namespace, name: str, model: Any, options: Any,
             checkpoint: Any = None) -> Any:
    """Explore in this process, or, when the search lasts, over ``--jobs`` local processes
    or Ray (:func:`swaplab.explore.parallel.explore_jobs`)."""
    from swaplab.explore.backend import default_jobs, get_backend
    from swaplab.explore.explorer import explore
    from swaplab.explore.parallel import explore_jobs
    from swaplab.report.progress import ExploreProgress

    jobs = args.jobs if args.jobs is not None else default_jobs()
    if checkpoint is not None:
        jobs = 1
    with ExploreProgress(f"check {name}", options.max_executions,
                         enabled=None if not args.json else False) as progress:
        if args.backend == "ray" or jobs > 1:
            backend = get_backend(args.backend, args.jobs, args.address)
            return explore_jobs(model, options, backend, jobs, progress)
        return explore(model, options, progress, checkpoint=checkpoint)


def _cmd_replay(args: argparse.Namespace) -> int:
    import dataclasses
    import json

    from swaplab.explore.replay import GuidedDriver, replay
    from swaplab.explore.runner import ReplayError, execute
    from swaplab.explore.schedule import ScheduleError
    from swaplab.report import render_trace, trace_json
    from swaplab.report.html import replay_page
    from swaplab.scenarios import UnknownScenario, format_spec, get_scenario, parse_spec

    html_error = _html_path_error(args)
    if html_error is not None:
        return _usage(html_error)
    try:
        name, sopts, decisions = parse_spec(args.schedule)
        fixes = tuple(sorted({*sopts.fixes, *args.fixes}))
        lenient = fixes != sopts.fixes  # fixes change the run: follow the schedule leniently
        sopts = dataclasses.replace(sopts, fixes=fixes)
        scenario = get_scenario(name)
        model = scenario.model(sopts)
        if lenient:
            result = execute(model, (), GuidedDriver(decisions), trace=True,
                             max_steps=scenario.max_steps, policy=sopts.schedules)
        else:
            result = replay(model, decisions, max_steps=scenario.max_steps,
                            policy=sopts.schedules)
    except (ScheduleError, UnknownScenario, ReplayError, ValueError) as err:
        return _usage(str(err))
    failure = result.failure
    if args.json:
        print(json.dumps({
            "scenario": name,
            "schedule": (format_spec(name, sopts, result.decisions) if lenient
                         else args.schedule),
            "fixes": list(sopts.fixes),
            "property": failure.property if failure is not None else None,
            "kind": failure.kind if failure is not None else None,
            "message": failure.message if failure is not None else None,
            "violations": [{"property": f.property, "kind": f.kind, "message": f.message}
                           for f in result.failures],
            "complete": result.complete,
            "cut": result.cut,
            "trace": trace_json(result.trace or []),
        }, indent=2))
    else:
        print(render_trace(result.trace or []), end="")
        for broken in result.failures:
            label = "" if broken.kind == "bug" else f"({broken.kind}) "
            print(f"{label}{broken.property}: {broken.message}")
        if lenient:
            print(f"(with {', '.join(args.fixes)} the schedule was followed where the "
                  f"threads could: {format_spec(name, sopts, result.decisions)})")
        if failure is None:
            ended = " (cut by the step limit)" if result.cut else (
                "" if result.complete else " (schedule ended)")
            print("no bug property broken" + ended)
    if args.html is not None and _write_html(args.html, lambda: replay_page(args.schedule)):
        return 2
    return 1 if failure is not None else 0


def _cmd_claims(args: argparse.Namespace) -> int:
    import json
    from contextlib import closing

    from swaplab.cache import ResultCache
    from swaplab.claims import all_claims, render
    from swaplab.interrupt import EXIT_INTERRUPTED, interruptible
    from swaplab.report.html import claims_page
    from swaplab.report.progress import ItemsProgress

    html_error = _html_path_error(args)
    if html_error is not None:
        return _usage(html_error)
    with interruptible(args.budget) as stop, closing(ItemsProgress(
            "claims", "checks and runs", enabled=None if not args.json else False)) as progress:
        rows = all_claims(growth=not args.explore_only, jobs=args.jobs, fixes=args.fixes,
                          cache=ResultCache("claims", read=not args.no_cache),
                          progress=progress)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(render(rows, args.verbose, colour=sys.stdout.isatty()), end="")
        if stop.interrupted:
            print("interrupted (SIGINT/SIGTERM): the claims not decided are marked so")
        elif stop.reason is not None:
            print(f"stopped ({stop.reason}): the claims not decided are marked so")
    if args.html is not None and _write_html(args.html, lambda: claims_page(rows)):
        return 2
    return EXIT_INTERRUPTED if stop.interrupted else 0


def _hunt_config(args: argparse.Namespace) -> Any:
    """The hunt's options as a HuntConfig; a ValueError (one line) for bad ones."""
    import re

    from swaplab.hunt import run
    from swaplab.kernel.config import make_config

    patches = None
    if args.patches is not None:
        patches = ",".join(p for p in args.patches.split(",") if p and p != "none")
    make_config(args.kernel, patches)  # a ConfigError (a ValueError) names what is wrong
    if args.cases is not None:
        try:
            re.compile(args.cases)
        except re.error as err:
            raise ValueError(f"--cases: not a regular expression: {err}") from None
    return run.HuntConfig(args.kernel, patches, args.fixes, args.seed, args.depth,
                          args.max_executions, run.GENERATOR, args.cases,
                          args.retry_executions)


def _cmd_hunt(args: argparse.Namespace) -> int:
    import json
    from contextlib import closing

    from swaplab.explore.backend import default_jobs
    from swaplab.hunt import run, triage
    from swaplab.hunt.journal import Journal, JournalError
    from swaplab.interrupt import EXIT_INTERRUPTED, interruptible
    from swaplab.report.progress import ItemsProgress

    try:
        config = _hunt_config(args)
    except ValueError as err:
        return _usage(str(err))
    if (args.replay is None) != (args.schedule is None):
        return _usage("--replay CASE and --schedule SCHEDULE go together")
    if args.replay is not None:
        return _hunt_replay(config, args.replay, args.schedule)
    html_error = _html_path_error(args)
    if html_error is not None:
        return _usage(html_error)
    try:
        journal = Journal(args.resume, config.identity()) if args.resume is not None else None
    except JournalError as err:
        return _usage(str(err))
    jobs = args.jobs if args.jobs is not None else default_jobs()
    try:
        bar = ItemsProgress("hunt", "cases", enabled=False if args.json else None)
        with interruptible(args.budget) as stop, closing(bar) as progress:
            found = run.hunt(config, jobs=jobs, backend=args.backend, address=args.address,
                             journal=journal, progress=progress)
    finally:
        if journal is not None:
            journal.close()
    rows = triage.triage(found)
    if args.json:
        print(json.dumps(triage.hunt_json(found, rows), indent=2))
    else:
        print(triage.render(found, rows, colour=sys.stdout.isatty()), end="")
    if args.html is not None and _write_html(args.html, lambda: triage.hunt_page(found, rows)):
        return 2
    if stop.interrupted:
        return EXIT_INTERRUPTED
    return 1 if rows else 0


def _hunt_replay(config: Any, case: str, schedule: str) -> int:
    from swaplab.explore.runner import ReplayError
    from swaplab.explore.schedule import ScheduleError
    from swaplab.hunt.run import replay_case

    try:
        replayed = replay_case(config, case, schedule)
    except KeyError as err:
        return _usage(str(err.args[0]))
    except (ScheduleError, ReplayError) as err:
        return _usage(str(err))
    print(f"{case}: {schedule}")
    print(replayed, end="")
    return 1 if replayed.broken else 0


_EXPLORE_COMMANDS = {"scenarios": _cmd_scenarios, "check": _cmd_check, "replay": _cmd_replay,
                     "claims": _cmd_claims, "hunt": _cmd_hunt}


if __name__ == "__main__":
    sys.exit(main())
