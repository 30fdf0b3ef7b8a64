"""``deltaprop evaluate``: accuracy, cost and confusion matrix of a saved model on data.

A table file given as ``--data`` is scored whole (every row) unless ``--split`` asks for one split
of it; without ``--data`` the model's own data are used (``resolve_data``), their test split unless
``--split`` says otherwise.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from deltaprop._output import plain, styled
from deltaprop.cli._common import (
    EXIT_OK,
    add_column_options,
    class_names,
    confusion_table,
    console,
    nonnegative_int,
    percent,
    print_json,
    rows_for_model,
)
from deltaprop.plots import confusion_matrix

SPLITS = ("test", "validation", "train")


def add_parser(commands: Any) -> None:
    """The ``evaluate`` subcommand."""
    parser = commands.add_parser(
        "evaluate", help="accuracy, cost and confusion matrix of a model on data",
        description="Evaluate a saved model on a table file (every row), or on one split of a data set.",
    )
    parser.add_argument("model", help="a model file written by 'deltaprop train'")
    parser.add_argument("--data", default=None,
                        help="data set spec as for train; a table file is scored whole unless --split "
                             "is given (default: the one the model was trained on, else digits)")
    parser.add_argument("--data-dir", default=None,
                        help="folder holding MNIST (default: the folder the model was trained "
                             "from, stored in it, else as for train)")
    add_column_options(parser)
    parser.add_argument("--split", choices=SPLITS, default=None,
                        help=f"evaluate one split of the data: {', '.join(SPLITS)} (default: a table "
                             "file given with --data whole, else test)")
    parser.add_argument("--seed", type=nonnegative_int, default=None,
                        help="seed of the data split (default: the one used in training)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def evaluation(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    """The result --json prints, and how the text names the rows it was measured on."""
    net, X, true, spec, described, split = rows_for_model(args)
    labels = true if net.classes is None else net.classes[true]  # the labels as the model names them
    predictions = np.argmax(net.feedforward(X), axis=1)
    return {
        "model": args.model,
        "data": spec,
        "split": split,
        "rows": int(X.shape[0]),
        "accuracy": float(np.mean(predictions == true)),
        "cost": net.cost(X, labels),
        "cost_function": net.cost_function.name,
        "confusion_matrix": confusion_matrix(true, predictions, net.sizes[-1]),
        "classes": class_names(net),
    }, described


def run(args: argparse.Namespace) -> int:
    """``deltaprop evaluate``."""
    result, described = evaluation(args)
    if args.json:
        print_json(result)
        return EXIT_OK
    out = console()
    out.print(styled(plain(described), f", {result['rows']} rows: accuracy "
                     f"[bold]{percent(result['accuracy'])}[/], ", plain(result["cost_function"]),
                     f" cost {result['cost']:.4f}"))
    out.print(confusion_table(result["confusion_matrix"], "confusion matrix", result["classes"]))
    return EXIT_OK
