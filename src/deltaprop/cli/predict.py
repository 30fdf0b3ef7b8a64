"""``deltaprop predict``: the predicted class and probabilities of each row of a file.

Reading the file (.npy, .csv, .png) is ``deltaprop.datasets.inputs``'s; this module shows the result.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from deltaprop.cli._common import EXIT_OK, console, load_model, print_json
from deltaprop.datasets.inputs import INVERT_CHOICES, read_inputs
from deltaprop.network import Network

TABLE_ROWS = 50  # rows shown in the table; --json has them all


def add_parser(commands: Any) -> None:
    """The ``predict`` subcommand."""
    parser = commands.add_parser(
        "predict", help="predicted class and probabilities for the rows of a file",
        description="Predict the class of each row of FILE: a .npy array (one row, many rows, or "
                    "images), a .csv table (a header is optional; a 'label' column is ignored), "
                    "or a PNG image. A PNG is turned to grayscale (transparent pixels count as "
                    "white), padded to the model's image aspect, area-resized to the model's "
                    "image shape (28x28 for 784 inputs, 8x8 for 64), inverted when its border is "
                    "light (the training digits are light on black), and stretched to [0, 1].",
    )
    parser.add_argument("model", help="a model file written by 'deltaprop train'")
    parser.add_argument("file", help="a .npy, .csv or .png file")
    parser.add_argument("--invert", choices=INVERT_CHOICES, default="auto",
                        help="invert a PNG's gray levels: auto (when its border is light), yes, "
                             "no (default: auto)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run)


def probabilities(outputs: np.ndarray, net: Network) -> np.ndarray:
    """Softmax outputs as they are; other outputs normalized to sum to 1 in each row."""
    if net.activations[-1].name == "softmax":
        return outputs
    clipped = np.clip(outputs, 0, None)
    totals = clipped.sum(axis=1, keepdims=True)
    uniform = np.full_like(clipped, 1 / clipped.shape[1])
    return np.where(totals > 0, clipped / np.where(totals > 0, totals, 1), uniform)


def prediction_table(labels: np.ndarray, probabilities: np.ndarray) -> Any:
    """A rich Table of the first rows: label, its probability, the three runners-up."""
    from rich.table import Table

    table = Table()
    table.add_column("row", justify="right")
    table.add_column("label", justify="right", style="bold")
    table.add_column("probability", justify="right")
    table.add_column("runners-up", justify="left", no_wrap=True)
    for i, (label, p) in enumerate(zip(labels[:TABLE_ROWS], probabilities[:TABLE_ROWS], strict=True)):
        others = [k for k in np.argsort(p)[::-1] if k != label][:3]
        runners_up = "  ".join(f"{k}: {p[k]:.1%}" for k in others)
        table.add_row(str(i), str(label), f"{p[label]:.1%}", runners_up)
    return table


def run(args: argparse.Namespace) -> int:
    """``deltaprop predict``."""
    net, meta = load_model(args.model)
    X = read_inputs(args.file, net.sizes[0], meta.get("image_shape"), args.invert)
    outputs = net.predict_proba(net.check_X(X, str(args.file)))
    labels = np.argmax(outputs, axis=1)
    shares = probabilities(outputs, net)
    if args.json:
        print_json({
            "model": args.model,
            "file": args.file,
            "labels": labels,
            "predictions": [
                {"label": int(label), "probabilities": p, "outputs": a}
                for label, p, a in zip(labels, shares, outputs, strict=True)
            ],
        })
        return EXIT_OK
    out = console()
    out.print(prediction_table(labels, shares))
    if len(labels) > TABLE_ROWS:
        out.print(f"… {len(labels) - TABLE_ROWS} more rows (use --json for all)")
    if len(labels) == 1:
        out.print(f"predicted label: [bold]{labels[0]}[/]")
    return EXIT_OK
