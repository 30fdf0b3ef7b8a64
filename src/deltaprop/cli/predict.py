"""``deltaprop predict``: the predicted class and probabilities of each row of one or more files.

Reading a file (.npy, .csv, .png, .jpg) is ``deltaprop.datasets.inputs``'s, preparing a picture of a
digit ``deltaprop.datasets.images``'s; this module expands the file names and globs, shows the
result, says when the network is unsure, and writes what the network saw (``--show-input``).
"""

from __future__ import annotations

import argparse
import glob
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from deltaprop import io
from deltaprop._files import atomic_write
from deltaprop._output import plain, safe, styled
from deltaprop.cli._common import EXIT_OK, LABEL_CHARS, class_names, console, print_json, shown
from deltaprop.datasets.inputs import (
    IMAGE_SUFFIXES,
    INVERT_CHOICES,
    PREPARE_CHOICES,
    image_shape_for,
    read_inputs,
)
from deltaprop.limits import MAX_DATA_BYTES, check_memory
from deltaprop.network import UNSURE_BELOW, Network

TABLE_ROWS = 50  # rows shown in the table; --json has them all
MAX_FILES = 10_000  # files one command reads (globs included)
NOTED_ROWS = 5  # unsure rows named one by one; more are counted
MAX_SHOWN = 100  # images in a --show-input grid
SHOWN_SIDE = 112  # pixels a side of each image in a --show-input grid, at least


def add_parser(commands: Any) -> None:
    """The ``predict`` subcommand."""
    parser = commands.add_parser(
        "predict", help="predicted class and probabilities for the rows of files",
        description="Predict the class of each row of each FILE: a .npy array (one row, many rows, "
                    "or images), a .csv table (a header is optional; a 'label' column is ignored), "
                    "or a PNG or JPEG picture. A picture of a digit is prepared the way MNIST was "
                    "made: the ink is separated from an uneven background (dark on light or light "
                    "on dark, decided from the picture), cropped, scaled to fit a 20x20 box keeping "
                    "its aspect and placed in 28x28 by its centre of mass (for 8x8 models: scaled to "
                    "fill 32x32 and counted in 4x4 blocks, as scikit-learn's digits were); leave "
                    "some paper around the digit when cropping a photo. FILE may "
                    "be a glob such as 'photos/*.jpg' (quoted or not). The network is 'unsure' of a "
                    "row when none of its outputs reaches 0.5.",
    )
    parser.add_argument("model", help="a model file written by 'deltaprop train'")
    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="a .npy, .csv, .png or .jpg file, or a glob of them")
    parser.add_argument("--invert", choices=INVERT_CHOICES, default="auto",
                        help="pictures: auto (decide from the picture), yes (dark ink on light "
                             "paper), no (light ink on dark) (default: auto)")
    parser.add_argument("--prepare", choices=PREPARE_CHOICES, default="digit",
                        help="pictures: digit (prepared as MNIST's digits were, see above) or "
                             "resize (only resized to the model's image shape, inverted when its "
                             "border is light, and stretched to [0, 1]) (default: digit)")
    parser.add_argument("--show-input", default=None, metavar="FILE.png",
                        help="write what the network saw as a PNG: each row as an image, several "
                             "in one grid, ten a line, in the table's row order (the first 100)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object; each picture's prediction includes its "
                             "prepared input as 'input'")


def expand_files(patterns: list[str]) -> list[Path]:
    """The files named: each name as it is when it exists or has no glob characters, else the
    files its glob matches (sorted). Raises ValueError for a glob that matches no file, or for more
    than :data:`MAX_FILES` files."""
    files: list[Path] = []
    for pattern in patterns:
        if os.path.exists(pattern) or not glob.has_magic(pattern):
            files.append(Path(pattern))
            continue
        matches = sorted(Path(p) for p in glob.iglob(pattern, recursive=True) if os.path.isfile(p))
        if not matches:
            raise ValueError(f"no file matches {pattern!r}")
        files += matches
        if len(files) > MAX_FILES:
            break
    if len(files) > MAX_FILES:
        raise ValueError(f"more than {MAX_FILES:,} files to predict from; give fewer at a time")
    return files


@dataclass
class Predictions:
    """The rows read, where each came from, and what the network made of them."""

    files: list[Path]
    X: np.ndarray
    sources: list[tuple[int, int]]  # (index in files, row in that file) of each row
    outputs: np.ndarray  # raw outputs (feedforward)
    names: list[str]  # the label of each output unit, as shown

    @property
    def index(self) -> np.ndarray:
        """The output unit each row is classified as."""
        return np.argmax(self.outputs, axis=1)

    @property
    def unsure(self) -> np.ndarray:
        """Whether no raw output of a row reaches :data:`UNSURE_BELOW`."""
        return np.max(self.outputs, axis=1) < UNSURE_BELOW

    def where(self, i: int) -> str:
        """Row ``i`` as messages name it: 'photo.png', 'rows.npy row 3'."""
        file, row = self.sources[i]
        name = str(self.files[file])
        return name if _is_image(self.files[file]) else f"{name} row {row}"


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def _label_value(net: Network, index: int) -> Any:
    """The label of output unit ``index`` as JSON shows it (an int, or the class as stored)."""
    return int(index) if net.classes is None else net.classes[index]


def predict_files(args: argparse.Namespace, net: Network, meta: dict[str, Any]) -> Predictions:
    """Read every file, the model's way, and run the network on all the rows."""
    files = expand_files(args.files)
    blocks, sources, held = [], [], 0
    for number, path in enumerate(files):
        rows = read_inputs(path, net.sizes[0], meta.get("image_shape"), args.invert, args.prepare)
        blocks.append(net.check_X(rows, str(path)))
        sources += [(number, row) for row in range(rows.shape[0])]
        held += blocks[-1].nbytes
        # the rows of all files, then stacked together: refused before the total outgrows memory
        check_memory(f"the rows of {number + 1} files", 2 * held, MAX_DATA_BYTES)
    X = np.vstack(blocks)
    return Predictions(files, X, sources, net.feedforward(X), class_names(net))


def prediction_table(result: Predictions, shares: np.ndarray) -> Any:
    """A rich Table of the first rows: row, (file), label, its probability, the runners-up."""
    from rich.table import Table

    several = len(result.files) > 1
    table = Table()
    table.add_column("row", justify="right")
    if several:
        table.add_column("file", justify="left", overflow="fold")
    table.add_column("label", justify="right", style="bold")
    table.add_column("probability", justify="right")
    table.add_column("runners-up", justify="left", no_wrap=True)
    unsure = result.unsure
    for i, (k, p) in enumerate(zip(result.index[:TABLE_ROWS], shares[:TABLE_ROWS], strict=True)):
        others = [j for j in np.argsort(p)[::-1] if j != k][:3]
        runners_up = "  ".join(f"{safe(result.names[j], LABEL_CHARS)}: {p[j]:.1%}" for j in others)
        label = safe(result.names[k], LABEL_CHARS) + (" ?" if unsure[i] else "")
        file = [plain(result.where(i))] if several else []
        table.add_row(str(i), *file, plain(label, None), f"{p[k]:.1%}", plain(runners_up, None))
    return table


def unsure_notes(result: Predictions) -> list[str]:
    """Plain-words notes on the rows the network is unsure of (none when it is sure of all)."""
    rows = np.flatnonzero(result.unsure)
    if rows.size > NOTED_ROWS:
        return [f"note: the network is unsure of {rows.size} of {len(result.sources)} rows (marked "
                f"'?'): none of its outputs reaches {UNSURE_BELOW}; they may not look like what "
                f"it was trained on"]
    return [f"note: the network is unsure of row {i} ({safe(result.where(i))}): none of its outputs "
            f"reaches {UNSURE_BELOW} (the highest, {result.outputs[i].max():.2f}, is for "
            f"{safe(result.names[result.index[i]], LABEL_CHARS)}); it may not look like what it was "
            "trained on" for i in rows]


def write_input_grid(path: str, X: np.ndarray, shape: tuple[int, int]) -> None:
    """The first :data:`MAX_SHOWN` rows of ``X`` as images of ``shape`` in one grayscale PNG grid
    (white = 1), row by row in their order, each enlarged to at least :data:`SHOWN_SIDE` pixels a
    side; written atomically."""
    from PIL import Image

    count = min(len(X), MAX_SHOWN)
    columns = min(count, 10)
    rows = -(-count // columns)
    scale = max(1, -(-SHOWN_SIDE // max(shape)))
    h, w, gap = shape[0] * scale, shape[1] * scale, 4
    grid = np.full((rows * (h + gap) + gap, columns * (w + gap) + gap), 96, np.uint8)
    for i in range(count):
        tile = np.kron(np.clip(X[i].reshape(shape), 0, 1), np.ones((scale, scale)))
        top, left = gap + (i // columns) * (h + gap), gap + (i % columns) * (w + gap)
        grid[top:top + h, left:left + w] = np.round(tile * 255).astype(np.uint8)
    with atomic_write(path) as file:
        Image.fromarray(grid).save(file, format="PNG")


def json_result(args: argparse.Namespace, net: Network, result: Predictions,
                shares: np.ndarray, shape: tuple[int, int] | None) -> dict[str, Any]:
    """What --json prints: the labels, and per row its file, probabilities, raw outputs, whether
    the network is unsure, and for pictures the prepared input (height x width)."""
    predictions = []
    for i, (k, p, a) in enumerate(zip(result.index, shares, result.outputs, strict=True)):
        file, row = result.sources[i]
        item = {"file": str(result.files[file]), "row": row, "label": _label_value(net, k),
                "probabilities": p, "outputs": a, "unsure": bool(result.unsure[i])}
        if shape is not None and _is_image(result.files[file]):
            item["input"] = np.round(result.X[i].reshape(shape), 4)
        predictions.append(item)
    one = {"file": str(result.files[0])} if len(result.files) == 1 else {}
    return {"model": args.model, **one, "files": [str(f) for f in result.files],
            "labels": [_label_value(net, k) for k in result.index], "predictions": predictions}


def run(args: argparse.Namespace) -> int:
    """``deltaprop predict``."""
    net, meta, _ = io.load_with_metadata(args.model)
    if args.show_input is not None and not args.show_input.lower().endswith(".png"):
        raise ValueError(f"--show-input {args.show_input}: the file name must end in .png")
    result = predict_files(args, net, meta)
    shares = net.probabilities(result.outputs)
    shape = None  # the model's image shape, to show its inputs
    if args.show_input is not None or any(_is_image(f) for f in result.files):
        try:
            shape = image_shape_for(net.sizes[0], meta.get("image_shape"))
        except ValueError:
            raise ValueError(f"--show-input {args.show_input}: the model's {net.sizes[0]} inputs are "
                             f"no image to show") from None
    if args.show_input is not None:
        write_input_grid(args.show_input, result.X, shape)
    if args.json:
        print_json(json_result(args, net, result, shares, shape))
        return EXIT_OK
    out = console()
    out.print(prediction_table(result, shares))
    if len(result.sources) > TABLE_ROWS:
        out.print(f"… {len(result.sources) - TABLE_ROWS} more rows (use --json for all)")
    if len(result.sources) == 1:
        out.print(styled("predicted label: ", plain(result.names[result.index[0]], style="bold")))
    for note in unsure_notes(result):
        out.print(note, soft_wrap=True, markup=False)
    if args.show_input is not None:
        written = f"the network's input written to {safe(shown(args.show_input))}"
        out.print(plain(written, None), soft_wrap=True)
    return EXIT_OK
