"""``deltaprop evaluate``: accuracy, cost and confusion matrix of a saved model on a data split."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from deltaprop._output import plain, styled
from deltaprop.cli._common import (
    EXIT_OK,
    class_names,
    confusion_table,
    console,
    model_on_data,
    nonnegative_int,
    percent,
    print_json,
)
from deltaprop.datasets import Dataset
from deltaprop.plots import confusion_matrix

SPLITS = ("test", "validation", "train")


def add_parser(commands: Any) -> None:
    """The ``evaluate`` subcommand."""
    parser = commands.add_parser(
        "evaluate", help="accuracy, cost and confusion matrix of a model on a data split",
        description="Evaluate a saved model on one split of a data set.",
    )
    parser.add_argument("model", help="a model file written by 'deltaprop train'")
    parser.add_argument("--data", default=None,
                        help="data set spec as for train (default: the one the model was "
                             "trained on, else digits)")
    parser.add_argument("--data-dir", default=None,
                        help="folder holding MNIST (default: the folder the model was trained "
                             "from, stored in it, else as for train)")
    parser.add_argument("--split", choices=SPLITS, default="test",
                        help=f"the split to evaluate on: {', '.join(SPLITS)} (default: test)")
    parser.add_argument("--seed", type=nonnegative_int, default=None,
                        help="seed of the data split (default: the one used in training)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def evaluation(args: argparse.Namespace) -> tuple[dict[str, Any], Dataset]:
    """The result --json prints, and the data set it was measured on."""
    net, spec, dataset, split = model_on_data(args)
    if split.X.shape[0] == 0:
        raise ValueError(f"the {args.split} split of the {dataset.name} data is empty")
    # the data's labels as the model names them (the loaders give unit indices and the names apart)
    labels = split.y if net.classes is None or dataset.classes is None else net.classes[split.y]
    true = net.check_labels(labels)  # output units, whatever the labels
    predictions = np.argmax(net.feedforward(split.X), axis=1)
    return {
        "model": args.model,
        "data": spec,
        "split": args.split,
        "rows": int(split.X.shape[0]),
        "accuracy": float(np.mean(predictions == true)),
        "cost": net.cost(split.X, labels),
        "cost_function": net.cost_function.name,
        "confusion_matrix": confusion_matrix(true, predictions, net.sizes[-1]),
        "classes": class_names(net),
    }, dataset


def run(args: argparse.Namespace) -> int:
    """``deltaprop evaluate``."""
    result, dataset = evaluation(args)
    if args.json:
        print_json(result)
        return EXIT_OK
    out = console()
    out.print(styled(plain(dataset.name), f" {args.split} data, {result['rows']} rows: accuracy "
                     f"[bold]{percent(result['accuracy'])}[/], ", plain(result["cost_function"]),
                     f" cost {result['cost']:.4f}"))
    out.print(confusion_table(result["confusion_matrix"], "confusion matrix", result["classes"]))
    return EXIT_OK
