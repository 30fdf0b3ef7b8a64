"""``deltaprop predict``: the predicted class and probabilities of each row of one or more files.

Reading a file (.npy, .csv, an image of any format Pillow decodes) is ``deltaprop.datasets.inputs``'s,
preparing a picture of a digit ``deltaprop.datasets.images``'s; this module expands the file names,
globs and folders, shows the result, says when the network is unsure (one rule: the probability of
the predicted class is below :data:`UNSURE_BELOW`) or a picture holds no ink, writes the
predictions as a CSV or JSON file (``-o``) and what the network saw (``--show-input``).
"""

from __future__ import annotations

import argparse
import csv
import glob
import io as text_io
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from deltaprop import io
from deltaprop._files import atomic_write, jsonable
from deltaprop._output import plain, safe, styled, warn
from deltaprop.cli._common import EXIT_OK, LABEL_CHARS, class_names, console, print_json, shown
from deltaprop.datasets.inputs import (
    INPUT_SUFFIXES,
    INVERT_CHOICES,
    PREPARE_CHOICES,
    image_shape_for,
    is_image,
    read_inputs,
)
from deltaprop.datasets.resolve import resolve_columns
from deltaprop.datasets.spec import is_table
from deltaprop.datasets.tables import is_number, read_table
from deltaprop.errors import UnscaledInputWarning
from deltaprop.limits import MAX_DATA_BYTES, MAX_PREDICT_FILES, check_memory
from deltaprop.network import UNSURE_BELOW, Network, unsure_rows
from deltaprop.training import warn_if_unscaled

TABLE_ROWS = 50  # rows shown in the table; --json and -o have them all
NOTED_ROWS = 5  # unsure rows named one by one; more are counted
MAX_SHOWN = 100  # images in a --show-input grid
SHOWN_SIDE = 112  # pixels a side of each image in a --show-input grid, at least
#: What the first cell of a text cell may not be in a CSV file a spreadsheet opens (a formula).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: The first key of the JSON document (stdout or -o), by which a previous output is recognized.
JSON_KIND = "deltaprop predictions"
#: Bytes of an existing -o file read to tell whether it is a previous output of predict.
SNIFF_BYTES = 64 * 1024


def add_parser(commands: Any) -> None:
    """The ``predict`` subcommand."""
    parser = commands.add_parser(
        "predict", help="predicted class and probabilities for the rows of files",
        description="Predict the class of each row of each FILE: a .npy array (one row, many rows, "
                    "or images), a table (.csv or .tsv, .parquet, .npz: its feature columns chosen "
                    "by the names the model stores, as 'evaluate' does; a label column is no "
                    "feature; for a model without column names a .csv header is optional), "
                    "a picture (PNG, JPEG, BMP, GIF, TIFF, WebP: every format Pillow reads), or a "
                    "folder (every picture in it, sorted by name). A picture of a digit is prepared "
                    "the way MNIST was made: the ink is separated from an uneven background (dark "
                    "on light or light on dark, decided from the picture), cropped, scaled to fit a "
                    "20x20 box keeping its aspect and placed in 28x28 by its centre of mass (for 8x8 "
                    "models: scaled to fill 32x32 and counted in 4x4 blocks, as scikit-learn's "
                    "digits were); leave some paper around the digit when cropping a photo; a "
                    "picture with no ink (a blank page) gets no class. FILE may be a glob such as "
                    "'photos/*.jpg' (quoted or not). The probabilities are the network's outputs "
                    "made to sum to 1 (softmax outputs as they are), and the network is 'unsure' "
                    f"of a row (marked '?') when the probability of its class is below "
                    f"{UNSURE_BELOW:.0%}.",
    )
    parser.add_argument("model", help="a model file written by 'deltaprop train'")
    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="a .npy file, a table, a picture, a folder of pictures, or a glob")
    parser.add_argument("-o", "--output", default=None, metavar="FILE",
                        help="write the predictions to FILE, one row per input: a CSV table (id "
                             "columns, 'predicted', one 'p_<class>' probability per class, 'note': "
                             "unsure or no ink), or with --json the JSON object; an existing FILE "
                             "is replaced only when it is such an output, or with --force")
    parser.add_argument("--id-column", default=None, metavar="NAME",
                        help="tables (.csv, .tsv, .parquet): the column NAME identifies each row; it is "
                             "no feature and is passed through to the output (pictures are identified "
                             "by their path)")
    parser.add_argument("--force", action="store_true",
                        help="replace the -o FILE even when it is not an earlier output of predict")
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
                        help="print one JSON object (or write it to -o FILE); each picture's "
                             "prediction includes its prepared input as 'input'")


def _folder_images(folder: Path) -> list[Path]:
    """The pictures in ``folder`` (not its subfolders), sorted by name; at most
    :data:`MAX_PREDICT_FILES`, counted while the folder is read."""
    found: list[Path] = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if is_image(entry.name) and entry.is_file():
                found.append(Path(entry.path))
                if len(found) > MAX_PREDICT_FILES:
                    raise ValueError(f"{folder} holds more than {MAX_PREDICT_FILES:,} pictures; "
                                     "give fewer at a time")
    if not found:
        raise ValueError(f"{folder} is a folder without pictures (expected files such as "
                         f"{', '.join(INPUT_SUFFIXES[2:])})")
    return sorted(found)


def expand_files(patterns: list[str]) -> list[Path]:
    """The files named: each name as it is when it exists or has no glob characters (a folder: the
    pictures in it, sorted), else the files its glob matches (sorted). Raises ValueError for a glob
    that matches no file, a folder without pictures, or more than :data:`MAX_PREDICT_FILES` files."""
    files: list[Path] = []
    for pattern in patterns:
        if os.path.isdir(pattern):
            files += _folder_images(Path(pattern))
        elif os.path.exists(pattern) or not glob.has_magic(pattern):
            files.append(Path(pattern))
        else:
            matches = sorted(Path(p) for p in glob.iglob(pattern, recursive=True) if os.path.isfile(p))
            if not matches:
                raise ValueError(f"no file matches {pattern!r}")
            files += matches
        if len(files) > MAX_PREDICT_FILES:
            raise ValueError(f"more than {MAX_PREDICT_FILES:,} files to predict from; give fewer at a time")
    return files


@dataclass
class Predictions:
    """The rows read, where each came from, and what the network made of them."""

    files: list[Path]
    X: np.ndarray
    sources: list[tuple[int, int]]  # (index in files, row in that file) of each row
    ids: list[str | None]  # each row's cell of --id-column (None: not from such a file)
    outputs: np.ndarray  # raw outputs (feedforward)
    probabilities: np.ndarray  # the outputs made probabilities (Network.probabilities)
    names: list[str]  # the label of each output unit, as shown

    @property
    def index(self) -> np.ndarray:
        """The output unit each row is classified as: the most probable."""
        return np.argmax(self.probabilities, axis=1)

    @property
    def no_ink(self) -> np.ndarray:
        """Whether each row is a picture without ink: its prepared input has no contrast at all."""
        by_file = np.array([is_image(path) for path in self.files], bool)
        pictures = by_file[np.array([file for file, _ in self.sources], np.intp)]
        return pictures & (np.ptp(self.X, axis=1) == 0)

    @property
    def unsure(self) -> np.ndarray:
        """Whether the probability of a row's class is below :data:`UNSURE_BELOW` (pictures
        without ink are not classified, so neither sure nor unsure)."""
        return unsure_rows(self.probabilities) & ~self.no_ink

    def where(self, i: int) -> str:
        """Row ``i`` as messages name it: 'photo.png', 'rows.npy row 3'."""
        file, row = self.sources[i]
        name = str(self.files[file])
        return name if is_image(self.files[file]) else f"{name} row {row}"


def _label_value(net: Network, index: int) -> Any:
    """The label of output unit ``index`` as JSON shows it (an int, or the class as stored)."""
    return int(index) if net.classes is None else net.classes[index]


def read_rows(path: Path, args: argparse.Namespace, net: Network, meta: dict[str, Any]
              ) -> tuple[np.ndarray, list[str | None]]:
    """The rows of one file the model's way, and each row's --id-column cell (None when there is no
    such column): the one place files are read. A table whose columns count by name (a model that
    stores its feature columns, an --id-column, a .tsv, Parquet or .npz file) is read whole by
    ``read_table``, its columns chosen as ``evaluate`` chooses them; a .csv of rows for a model
    without names (a header is optional then), a .npy and pictures by ``read_inputs``."""
    named = args.id_column is not None or bool(meta.get("features")) or path.suffix.lower() != ".csv"
    if is_table(path) and named:
        columns = resolve_columns(meta, str(path))
        table = read_table(path, features=columns.features, label_column=columns.label_column,
                           id_column=args.id_column, n_features=net.sizes[0])
        return table.X, [None] * table.X.shape[0] if table.ids is None else list(table.ids)
    rows = read_inputs(path, net.sizes[0], meta.get("image_shape"), args.invert, args.prepare)
    return rows, [None] * rows.shape[0]


def warn_unscaled(path: Path, rows: np.ndarray, net: Network) -> None:
    """One warning line when rows of a table (not pictures, which are prepared in [0, 1]) reach far
    beyond [0, 1] (``warn_if_unscaled``'s rule, train's) for a model that scales no inputs."""
    if is_image(path) or net.scaling is not None:
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnscaledInputWarning)
        warn_if_unscaled(str(path), rows)
    for warning in caught:
        low, high = getattr(warning.message, "low", 0), getattr(warning.message, "high", 0)
        warn(f"the rows of {safe(shown(path))} range over [{low:g}, {high:g}], far beyond [0, 1], and "
             f"the model scales no inputs: scale them as its training data were (pixels 0..255: divide "
             f"by 255), or its predictions mean little")


def predict_files(args: argparse.Namespace, net: Network, meta: dict[str, Any],
                  files: list[Path]) -> Predictions:
    """Read every file (:func:`expand_files`), the model's way, and run the network on all the rows."""
    blocks, sources, ids, held = [], [], [], 0
    for number, path in enumerate(files):
        rows, row_ids = read_rows(path, args, net, meta)
        blocks.append(net.check_X(rows, str(path)))
        warn_unscaled(path, blocks[-1], net)
        sources += [(number, row) for row in range(rows.shape[0])]
        ids += row_ids
        held += blocks[-1].nbytes
        # the rows of all files, then stacked together: refused before the total outgrows memory
        check_memory(f"the rows of {number + 1} files", 2 * held, MAX_DATA_BYTES)
    X = np.vstack(blocks)
    outputs = net.feedforward(X)
    return Predictions(files, X, sources, ids, outputs, net.probabilities(outputs), class_names(net))


def prediction_table(result: Predictions) -> Any:
    """A rich Table of the first rows: row, (file), (id), label, its probability, the runners-up."""
    from rich.table import Table

    several = len(result.files) > 1
    with_ids = any(i is not None for i in result.ids)
    table = Table()
    table.add_column("row", justify="right")
    if several:
        table.add_column("file", justify="left", overflow="fold")
    if with_ids:
        table.add_column("id", justify="left", overflow="fold")
    table.add_column("label", justify="right", style="bold")
    table.add_column("probability", justify="right")
    table.add_column("runners-up", justify="left", no_wrap=True)
    unsure, no_ink = result.unsure, result.no_ink
    for i, (k, p) in enumerate(zip(result.index[:TABLE_ROWS], result.probabilities[:TABLE_ROWS],
                                   strict=True)):
        others = [j for j in np.argsort(p)[::-1] if j != k][:3]
        runners_up = "  ".join(f"{safe(result.names[j], LABEL_CHARS)}: {p[j]:.1%}" for j in others)
        label = safe(result.names[k], LABEL_CHARS) + (" ?" if unsure[i] else "")
        cells = [plain(result.where(i))] if several else []
        cells += [plain("" if result.ids[i] is None else result.ids[i])] if with_ids else []
        if no_ink[i]:
            table.add_row(str(i), *cells, "[dim]no ink[/]", "–", "")
        else:
            table.add_row(str(i), *cells, plain(label, None), f"{p[k]:.1%}", plain(runners_up, None))
    return table


def unsure_notes(result: Predictions) -> list[str]:
    """Plain-words notes on the rows the network is unsure of and the pictures without ink (none
    when it is sure of all)."""
    notes = [f"note: no ink found in {safe(result.where(i))} (a blank page?): no class predicted"
             for i in np.flatnonzero(result.no_ink)[:NOTED_ROWS]]
    blank = int(result.no_ink.sum())
    if blank > NOTED_ROWS:
        notes.append(f"note: {blank - NOTED_ROWS} more pictures without ink: no class predicted")
    rows = np.flatnonzero(result.unsure)
    rule = f"no class reaches a probability of {UNSURE_BELOW:.0%}"
    if rows.size > NOTED_ROWS:
        return [*notes, f"note: the network is unsure of {rows.size} of {len(result.sources)} rows "
                        f"(marked '?'): {rule}; they may not look like what it was trained on"]
    return [*notes, *(f"note: the network is unsure of row {i} ({safe(result.where(i))}): {rule} (the "
                      f"highest, {result.probabilities[i].max():.1%}, is for "
                      f"{safe(result.names[result.index[i]], LABEL_CHARS)}); it may not look like "
                      "what it was trained on" for i in rows)]


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
                shape: tuple[int, int] | None) -> dict[str, Any]:
    """What --json prints: the labels, and per row its file, (id), probabilities, raw outputs,
    whether the network is unsure, whether a picture has no ink (then its label is null), and for
    pictures the prepared input (height x width)."""
    predictions = []
    no_ink, unsure = result.no_ink, result.unsure
    labels = [None if no_ink[i] else _label_value(net, k) for i, k in enumerate(result.index)]
    for i, (p, a) in enumerate(zip(result.probabilities, result.outputs, strict=True)):
        file, row = result.sources[i]
        item = {"file": str(result.files[file]), "row": row, "label": labels[i], "probabilities": p,
                "outputs": a, "unsure": bool(unsure[i]), "no_ink": bool(no_ink[i])}
        if result.ids[i] is not None:
            item["id"] = result.ids[i]
        if shape is not None and is_image(result.files[file]):
            item["input"] = np.round(result.X[i].reshape(shape), 4)
        predictions.append(item)
    one = {"file": str(result.files[0])} if len(result.files) == 1 else {}
    return {"kind": JSON_KIND, "model": args.model, **one, "files": [str(f) for f in result.files],
            "labels": labels, "predictions": predictions}


def spreadsheet_safe(cell: Any) -> str:
    """A text cell as written to a CSV file: numbers as they are; text starting like a spreadsheet
    formula (= + - @, tab, carriage return) behind a "'" so that no spreadsheet runs it."""
    text = str(cell)
    return "'" + text if text.startswith(FORMULA_STARTS) and not is_number(text) else text


def csv_columns(result: Predictions, id_column: str | None) -> list[str]:
    """The header of the CSV output: 'file' (several files, or pictures), 'row' (rows of tables),
    the --id-column, 'predicted', 'p_<class>' for each class, 'note'."""
    pictures = [is_image(f) for f in result.files]
    columns = ["file"] if len(result.files) > 1 or any(pictures) else []
    columns += ["row"] if not all(pictures) and id_column is None else []
    columns += [id_column] if id_column is not None else []
    return [*columns, "predicted", *(f"p_{name}" for name in result.names), "note"]


def csv_text(result: Predictions, id_column: str | None) -> str:
    """The predictions as CSV text (:func:`csv_columns`), one row per input, every text cell
    quoted as CSV needs and made :func:`spreadsheet_safe`; probabilities with 17 significant digits."""
    buffer = text_io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    columns = csv_columns(result, id_column)
    writer.writerow([spreadsheet_safe(name) for name in columns])
    no_ink, unsure = result.no_ink, result.unsure
    for i, (k, p) in enumerate(zip(result.index, result.probabilities, strict=True)):
        file, row = result.sources[i]
        cells = {"file": str(result.files[file]), "row": row, id_column: result.ids[i] or "",
                 "predicted": "" if no_ink[i] else result.names[k],
                 "note": "no ink" if no_ink[i] else "unsure" if unsure[i] else ""}
        values = [cells[name] for name in columns[:len(columns) - len(p) - 1]] + [f"{q:.17g}" for q in p]
        writer.writerow([spreadsheet_safe(value) for value in values] + [cells["note"]])
    return buffer.getvalue()


def check_output(path: str, force: bool, inputs: list[Path], model: str) -> None:
    """Refuse an -o FILE that is a folder, an input or the model, or an existing file that is not an
    earlier output of predict (its CSV header or JSON kind), unless ``force`` (ValueError)."""
    target = Path(path)
    if target.is_dir():
        raise ValueError(f"-o {path}: is a folder; expected a file name for the predictions")
    if not target.exists():
        return
    for other in [*inputs, Path(model)]:
        if other.exists() and os.path.samefile(other, target):
            raise ValueError(f"-o {path}: is an input of this command ({other}); choose another name")
    if not force and not _earlier_output(target):
        raise ValueError(f"-o {path}: the file exists and is not an earlier output of 'deltaprop "
                         "predict'; choose another name, or add --force to replace it")


def _earlier_output(path: Path) -> bool:
    """Whether ``path`` starts like an output of predict: a CSV header ending in 'predicted',
    'p_<class>'... 'note', or a JSON object whose first key says :data:`JSON_KIND`."""
    with open(path, "rb") as file:
        head = file.read(SNIFF_BYTES).decode("utf-8", errors="replace")
    if head.startswith(json.dumps({"kind": JSON_KIND})[:-1]):
        return True
    header = next(csv.reader([head.split("\n", 1)[0]]), [])
    if "predicted" not in header or header[-1:] != ["note"]:
        return False
    return all(name.startswith("p_") for name in header[header.index("predicted") + 1:-1])


def write_output(args: argparse.Namespace, net: Network, result: Predictions,
                 shape: tuple[int, int] | None) -> None:
    """The predictions to -o FILE, atomically: the JSON object with --json, else CSV text."""
    if args.json:
        text = json.dumps(jsonable(json_result(args, net, result, shape)), allow_nan=False) + "\n"
    else:
        text = csv_text(result, args.id_column)
    with atomic_write(args.output) as file:
        file.write(text.encode("utf-8"))


def _image_shape(args: argparse.Namespace, net: Network, meta: dict[str, Any],
                 result: Predictions) -> tuple[int, int] | None:
    """The model's image shape, to show its inputs (None when there is no picture to show)."""
    if args.show_input is None and not any(is_image(f) for f in result.files):
        return None
    try:
        return image_shape_for(net.sizes[0], meta.get("image_shape"))
    except ValueError:
        raise ValueError(f"--show-input {args.show_input}: the model's {net.sizes[0]} inputs are "
                         f"no image to show") from None


def show(result: Predictions, args: argparse.Namespace) -> None:
    """The table of the first rows, the single prediction, the notes, what was written."""
    out = console()
    out.print(prediction_table(result))
    if len(result.sources) > TABLE_ROWS:
        out.print(f"… {len(result.sources) - TABLE_ROWS} more rows (use --json or -o for all)")
    if len(result.sources) == 1 and not result.no_ink[0]:
        out.print(styled("predicted label: ", plain(result.names[result.index[0]], style="bold")))
    for note in unsure_notes(result):
        out.print(note, soft_wrap=True, markup=False)
    if args.show_input is not None:
        written = f"the network's input written to {safe(shown(args.show_input))}"
        out.print(plain(written, None), soft_wrap=True)


def run(args: argparse.Namespace) -> int:
    """``deltaprop predict``."""
    net, meta, _ = io.load_with_metadata(args.model)
    if args.show_input is not None and not args.show_input.lower().endswith(".png"):
        raise ValueError(f"--show-input {args.show_input}: the file name must end in .png")
    files = expand_files(args.files)
    if args.output is not None:
        check_output(args.output, args.force, files, args.model)
    result = predict_files(args, net, meta, files)
    shape = _image_shape(args, net, meta, result)
    if args.show_input is not None:
        write_input_grid(args.show_input, result.X, shape)
    if args.output is not None:
        write_output(args, net, result, shape)
        count = len(result.sources)
        console().print(plain(f"predictions of {count:,} row{'s' * (count != 1)} written to "
                              f"{safe(shown(args.output))}", None), soft_wrap=True)
        return EXIT_OK
    if args.json:
        print_json(json_result(args, net, result, shape))
        return EXIT_OK
    show(result, args)
    return EXIT_OK
