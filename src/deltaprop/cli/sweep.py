"""``deltaprop sweep``: search training and network options with Optuna (``deltaprop.sweep``).

    deltaprop sweep space.toml --trials 20 --jobs 2
    deltaprop sweep space.toml --trials 50 --storage postgresql://me@db/sweeps --study mnist

Rerunning the same command continues the study until it holds ``--trials`` finished trials; several
machines join one study by running the same command with the same ``--storage`` and ``--study``.
Ctrl-C or SIGTERM stops the workers after their current mini-batch: their running trials are
recorded as failed, the study stays usable.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

from deltaprop._output import plain, safe, styled
from deltaprop.cli._common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    PROG,
    console,
    nonnegative_int,
    positive_int,
    print_json,
)
from deltaprop.sweep.storage import PRUNERS


def add_parser(commands: Any) -> None:
    """The ``sweep`` subcommand."""
    parser = commands.add_parser(
        "sweep", help="search hyperparameters with Optuna",
        description="Run trials of a search space (a TOML file: [data], [fixed], [search], "
                    "[objective]) on an Optuna study until it holds --trials finished trials; "
                    "write trials.csv, each complete trial's run directory, best/ and plots.",
    )
    parser.add_argument("space", help="the search space, a TOML file (see docs/sweep.md)")
    parser.add_argument("--trials", type=positive_int, required=True, metavar="N",
                        help="finished trials (complete, pruned, or failed on their own) the study "
                             "should hold; a rerun adds only what is missing")
    parser.add_argument("--jobs", type=positive_int, default=1, metavar="J",
                        help="worker processes on this machine (default: 1)")
    parser.add_argument("--storage", default=None, metavar="URL",
                        help="an Optuna storage: sqlite:///PATH, postgresql://USER@HOST/DB, or "
                             "journal:PATH (Optuna's journal file) (default: sqlite in --out)")
    parser.add_argument("--study", default=None, metavar="NAME",
                        help="the study's name (default: the space file's name without .toml)")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="output folder (default: sweeps/<study>); a rerun continues in it")
    parser.add_argument("--pruner", choices=PRUNERS, default="median",
                        help="stop poor trials early: median, hyperband or none (default: median)")
    parser.add_argument("--seed", type=nonnegative_int, default=None,
                        help="seed of the TPE sampler, for a repeatable sweep with --jobs 1 "
                             "(worker i of --jobs uses seed + i) (default: fresh)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object: study, storage, best value and params, counts")


def run(args: argparse.Namespace) -> int:
    """``deltaprop sweep``: 0 when done, 130 when stopped by Ctrl-C."""
    import deltaprop.sweep as sweep
    from deltaprop.sweep import outputs
    from deltaprop.sweep.storage import default_storage, optuna_module

    optuna_module()  # missing extra: one line before anything else
    space = sweep.load_space(args.space)
    study_name = args.study or space.name
    out = Path(args.out) if args.out else Path("sweeps") / study_name
    storage = args.storage or default_storage(out)
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)  # stops the workers as Ctrl-C does
    try:
        study = sweep.run(space, args.trials, storage, study_name=study_name, out=out,
                          jobs=args.jobs, pruner=args.pruner, seed=args.seed, verbose=True, outputs=False)
        skipped = outputs.write_outputs(study, space, out)  # a signal here too: one line, no temporary
    except KeyboardInterrupt:
        print(f"{PROG}: sweep interrupted; the running trials were recorded as failed; rerun the "
              f"same command to continue", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)
    result = outputs.summary(study, space, storage, out)
    if args.json:
        print_json(result)
        return EXIT_OK
    screen = console()
    screen.print(outputs.top_table(study, space))
    screen.print(f"{result['n_complete']} complete, {result['n_pruned']} pruned, "
                 f"{result['n_failed']} failed" + (f", {result['n_running']} running elsewhere"
                                                   if result["n_running"] else ""))
    if result["best_value"] is not None:
        screen.print(styled("best ", plain(space.metric), f": [bold]{result['best_value']:.4f}[/] (trial "
                            f"{result['best_trial']}) with ", plain(result["best_params"], None)),
                     soft_wrap=True)
    for name, why in skipped.items():
        screen.print(plain(f"{safe(name)} left out: {why}", None, style="dim"), soft_wrap=True)
    screen.print(plain(f"outputs in {safe(out)}", None), soft_wrap=True)
    return EXIT_OK
