"""``deltaprop info``: sizes, activations, cost, dtype, parameters and training config of a model."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from deltaprop import io
from deltaprop._output import plain
from deltaprop.cli._common import EXIT_OK, console, numbers_table, print_json
from deltaprop.datasets.resolve import DataSource, resolve_data
from deltaprop.network import Network

#: Metadata keys shown in their own rows or tables; the others are listed as they are.
SHOWN_KEYS = {"format_version", "deltaprop_version", "sizes", "activations", "cost", "dtype",
              "training"}


def add_parser(commands: Any) -> None:
    """The ``info`` subcommand."""
    parser = commands.add_parser(
        "info", help="describe a model file",
        description="Sizes, activations, cost, dtype, parameter count, training config and "
                    "version of a saved model.",
    )
    parser.add_argument("model", help="a model file written by 'deltaprop train'")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def layer_rows(net: Network) -> list[dict[str, Any]]:
    """One dict per layer: number, inputs, units, activation, parameters."""
    return [{"layer": i + 1, "inputs": n_in, "units": n_out, "activation": act,
             "parameters": n_in * n_out + n_out}
            for i, ((n_in, n_out), act) in enumerate(
                zip(net.layer_shapes(), net.activation_names, strict=True))]


def data_text(source: DataSource) -> str:
    """The data a model is run on, in words: 'mnist in /data/mnist, split seed 0'."""
    folder = "the default folder" if source.data_dir is None else source.data_dir
    where = f" in {folder}" if source.spec.strip().lower() == "mnist" else ""
    return f"{source.spec}{where}, split seed {source.seed}"


def _key_value_table(title: str, rows: list[tuple[str, str]]) -> Any:
    from rich.table import Table

    table = Table(show_header=False, box=None, title=plain(title), title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for key, value in rows:
        table.add_row(plain(key), plain(value))
    return table


def run(args: argparse.Namespace) -> int:
    """``deltaprop info``."""
    net, meta, _ = io.load_with_metadata(args.model)
    layers = layer_rows(net)
    source = resolve_data(meta)  # what evaluate, explain and report run the model on by default
    if args.json:
        print_json({**meta, "path": args.model, "file_bytes": os.path.getsize(args.model),
                    "parameters": net.num_parameters, "layers": layers, "data_used": source._asdict()})
        return EXIT_OK
    rows = [("sizes", " → ".join(map(str, net.sizes))), ("cost", net.cost_function.name),
            ("dtype", net.dtype.name), ("parameters", f"{net.num_parameters:,}"),
            ("data used", data_text(source)),
            ("format version", str(meta.get("format_version"))),
            ("deltaprop version", str(meta.get("deltaprop_version")))]
    rows += [(key, json.dumps(value)) for key, value in sorted(meta.items()) if key not in SHOWN_KEYS]
    out = console()
    out.print(_key_value_table(args.model, rows))
    layer_table = numbers_table("layers", "layer", "inputs", "units", "activation", "parameters")
    for layer in layers:
        layer_table.add_row(*(f"{v:,}" if isinstance(v, int) else plain(v) for v in layer.values()))
    out.print(layer_table)
    if meta.get("training"):
        out.print(_key_value_table("training", [(k, json.dumps(v)) for k, v in meta["training"].items()]))
    return EXIT_OK
