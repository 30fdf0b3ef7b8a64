"""``deltaprop explain``: one example traced through the feedforward pass and BP1-BP4.

Either a saved model and one row of a data set (``deltaprop explain MODEL --row 0``: the data the
model was trained on, found as ``evaluate`` finds it; ``--data`` names other data, a table file's
rows taken whole unless ``--split`` is given, as ``evaluate`` takes them) or a fresh small
network with a seeded random example and target (``deltaprop explain --sizes 3,4,2``). Rich
tables that fit 100 columns (small layers show every number, large ones norms, extremes and a
sample), or ``--json``: the exact values of ``Explanation.to_dict()``.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from deltaprop._output import plain, safe, warn
from deltaprop.cli._common import (
    EXIT_OK,
    add_column_options,
    add_network_options,
    class_names,
    console,
    layer_sizes,
    nonnegative_int,
    numbers_table,
    positive_float,
    positive_int,
    print_json,
    rows_for_model,
)
from deltaprop.explanation import MAX_CHECKS, Explanation, LayerTrace, explain
from deltaprop.network import Network
from deltaprop.optimizers import SGD

SMALL = 12  # layers with at most this many units show every unit
SMALL_MATRIX = 7  # ∂C/∂w shown whole when it has at most this many columns (and SMALL rows)
SAMPLE = 4


def add_parser(commands: Any) -> None:
    """The ``explain`` subcommand."""
    parser = commands.add_parser(
        "explain", help="trace one example through backprop's four equations",
        description="Trace one example through the feedforward pass and BP1-BP4 (Nielsen, ch. 2): "
                    "z, a, σ'(z), δ, ∂C/∂b and ∂C/∂w of every layer, the cost of that one example, "
                    "every partial checked against a central finite difference, the SGD step the "
                    "example would cause, the sum over paths for one weight, and plain-word notes. "
                    "Give a MODEL and --row (the data the model was trained on, or --data), or a "
                    "fresh network with --sizes.",
    )
    parser.add_argument("model", nargs="?", default=None,
                        help="a model file written by 'deltaprop train' (else a fresh network)")
    parser.add_argument("--data", default=None,
                        help="the data set of the example, with MODEL (default: the one the model "
                             "was trained on, else digits)")
    parser.add_argument("--data-dir", default=None,
                        help="folder holding MNIST (default: the folder the model was trained "
                             "from, stored in it, else as for train)")
    add_column_options(parser)
    parser.add_argument("--row", type=nonnegative_int, default=0,
                        help="row of the split, or of a table file given with --data (default: 0)")
    parser.add_argument("--split", choices=["train", "validation", "test"], default=None,
                        help="split the row is taken from (default: a table file given with --data "
                             "whole, else test)")
    parser.add_argument("--sizes", type=layer_sizes, default=None,
                        help="layer sizes of a fresh network, input first (default: 3,4,2)")
    add_network_options(parser, cost="quadratic")  # a fresh network: chapter 2's cost
    parser.add_argument("--seed", type=nonnegative_int, default=None,
                        help="seed of a fresh network's weights, example and target, or of a "
                             "MODEL's data split (default: 0, or the one the model was trained "
                             "with)")
    parser.add_argument("--eta", type=positive_float, default=None,
                        help="η of the SGD step shown (default: the model's, else 0.5)")
    parser.add_argument("--weight", default=None, metavar="L,J,K",
                        help="the weight w^l_jk whose sum over paths is shown (default: the layer-1 "
                             "weight of largest gradient)")
    parser.add_argument("--max-checks", type=positive_int, default=MAX_CHECKS,
                        help=f"finite differences for at most this many parameters, a seeded sample "
                             f"beyond (default: {MAX_CHECKS})")
    parser.add_argument("--json", action="store_true", help="print one JSON object of exact values")


def _weight(text: str | None) -> tuple[int, int, int] | None:
    if text is None:
        return None
    try:
        layer, j, k = (int(part) for part in text.split(","))
    except ValueError:
        raise ValueError(f"--weight must be three integers L,J,K like 1,0,2, got {text!r}") from None
    return layer, j, k


def example(args: argparse.Namespace) -> tuple[Network, np.ndarray, Any, str, float]:
    """The network, the example x (n_in,), its target, a description, and η: a row of the data a
    MODEL resolves to (``resolve_data``: --data, else the model's own, else digits), or a fresh
    network of --sizes with a seeded random example and target."""
    if args.model is None and args.data is not None:
        raise ValueError("--data needs a MODEL to run the example through; give a model file "
                         "or leave --data out for a fresh network")
    if args.model is None:
        sizes, seed = args.sizes or [3, 4, 2], args.seed or 0
        net = Network(sizes, activation=args.activation, output_activation=args.output_activation,
                      cost=args.cost, seed=seed, dtype="float64")
        rng = np.random.default_rng(seed)
        x, label = rng.uniform(0.0, 1.0, sizes[0]), int(rng.integers(0, sizes[-1]))
        return (net, x, label, f"a random example (seed {seed}) with target label {label}",
                args.eta or SGD.default_eta)
    if args.sizes is not None:
        raise ValueError("--sizes describes a fresh network; leave it out when giving a MODEL")
    net, X, units, data, described, split = rows_for_model(args, "float64")
    where = data if split == "all" else described  # "held.csv", "the test split of digits"
    if args.row >= X.shape[0]:
        raise ValueError(f"--row must be below {X.shape[0]}, the number of rows of {where}, got {args.row}")
    label = int(units[args.row])  # the output unit; a model with named classes takes its target vector
    target = label if net.classes is None else np.eye(net.sizes[-1])[label]
    eta = args.eta or net.training_config.get("eta") or SGD.default_eta
    return net, X[args.row], target, f"row {args.row} of {where} (label {class_names(net)[label]})", eta


def run(args: argparse.Namespace) -> int:
    """``deltaprop explain``."""
    net, x, y, described, eta = example(args)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # said in words below
        trace = explain(net, x, y, eta=eta, path_weight=_weight(args.weight), max_checks=args.max_checks,
                        seed=args.seed or 0)
    if not np.isfinite([trace.cost_value, trace.finite_difference["max_error"]]).all():
        warn("the numbers of this trace overflowed the floating-point range (the model's weights or the "
             "example's inputs are extreme): inf and nan in it stand for that")
    if args.json:
        print_json(trace.to_dict())
    else:
        render(trace, described, console())
    return EXIT_OK


# -- rendering ------------------------------------------------------------------------------------


def num(value: float | None) -> str:
    """A number in at most 10 characters: 0.01234, -1.5e-07; '–' for None, 'inf' for infinities."""
    return "–" if value is None else f"{value:.4g}" if np.isfinite(value) else str(value)


def _stats(values: np.ndarray) -> str:
    """‖v‖, min and max of an array: the summary of a large one."""
    return (f"‖·‖ {num(float(np.linalg.norm(values)))}, min {num(float(values.min()))}, "
            f"max {num(float(values.max()))}")


def _sample_units(t: LayerTrace) -> list[int]:
    """The units a large layer shows: the first few and those of largest |δ|."""
    largest = np.argsort(-np.abs(t.delta), kind="stable")[:SAMPLE]
    return sorted(set(range(SAMPLE)) | {int(i) for i in largest})


def layer_table(trace: Explanation, index: int) -> Any:
    """Units of layer l: z, a, σ'(z), δ (= ∂C/∂b by BP3), and ∇_a C for the output layer."""
    t, L = trace.layers[index], len(trace.layers)
    rule = "BP1" if index == L - 1 else "BP2"
    columns = ["j", "z", "a", "σ'(z)", "δ = ∂C/∂b", "Δb = −η δ"]
    if index == L - 1:
        columns[4:4] = ["y", "∇_a C"]
    table = numbers_table(f"layer {index + 1} of {L} ({trace.activations[index]}, {t.z.size} units): "
                          f"δ by {rule}, ∂C/∂b = δ by BP3", *columns)
    units = range(t.z.size) if t.z.size <= SMALL else _sample_units(t)
    for j in units:
        cells = [str(j), num(t.z[j]), num(t.a[j]),
                 "–" if t.sigma_prime is None else num(t.sigma_prime[j]),
                 num(t.delta[j]), num(-trace.eta * t.nabla_b[j])]
        if index == L - 1:
            cells[4:4] = [num(trace.y[j]), num(trace.grad_a[j])]
        table.add_row(*cells)
    if t.z.size > SMALL:
        table.caption = (f"a sample of {len(units)} of {t.z.size} units; z: {_stats(t.z)}; "
                         f"a: {_stats(t.a)}; δ: {_stats(t.delta)}")
    return table


def weight_table(trace: Explanation, index: int) -> Any:
    """BP4 for layer l: ∂C/∂w^l_jk = a^{l-1}_k δ^l_j, whole when small, else a summary."""
    t = trace.layers[index]
    below = trace.x if index == 0 else trace.layers[index - 1].a
    rows, cols = t.nabla_w.shape
    title = f"BP4, layer {index + 1}: ∂C/∂w_jk = a^{index}_k δ^{index + 1}_j, shape ({rows}, {cols})"
    if rows <= SMALL and cols <= SMALL_MATRIX:
        table = numbers_table(title, "j \\ k", *(f"{k} (a={num(below[k])})" for k in range(cols)))
        for j in range(rows):
            table.add_row(str(j), *(num(t.nabla_w[j, k]) for k in range(cols)))
        return table
    table = numbers_table(title, "j", "k", "w_jk", "a_k", "δ_j", "∂C/∂w_jk", "Δw = −η ∂C/∂w")
    order = np.argsort(-np.abs(t.nabla_w), axis=None, kind="stable")[:SAMPLE]
    for flat in order:
        j, k = (int(v) for v in np.unravel_index(flat, t.nabla_w.shape))
        table.add_row(str(j), str(k), num(t.weights[j, k]), num(below[k]), num(t.delta[j]),
                      num(t.nabla_w[j, k]), num(-trace.eta * t.nabla_w[j, k]))
    zero = int(np.count_nonzero(t.nabla_w == 0))
    table.caption = (f"the {len(order)} largest |∂C/∂w| of {t.nabla_w.size}; ∂C/∂w: "
                     f"{_stats(t.nabla_w)}; {zero} entries exactly 0")
    return table


def check_table(trace: Explanation) -> Any:
    """Per layer: partials checked against central finite differences and their relative errors."""
    table = numbers_table("partials vs central finite differences", "layer", "checked", "of",
                          "weight error", "bias error")
    for i, t in enumerate(trace.layers):
        table.add_row(str(i + 1), str(t.checked), str(t.nabla_w.size + t.nabla_b.size),
                      f"{t.weight_error:.2e}", f"{t.bias_error:.2e}")
    return table


def _path_lines(trace: Explanation) -> list[str]:
    p = trace.path_sum
    if p is None:
        return []
    lines = [f"[bold]the big picture[/] for w^{p.layer}_jk, j = {p.j}, k = {p.k}: ∂C/∂w = Σ over "
             f"paths of the products of the rates along them"]
    if p.value is None:
        return [*lines, f"  {p.note}; BP4: {num(p.bp4)}"]
    lines.append(f"  {p.note}: sum {p.value!r}, BP4 {p.bp4!r}, difference {abs(p.value - p.bp4):.2e}")
    lines += [f"  path through neurons {' → '.join(map(str, path['neurons']))}: "
              f"{num(path['product'])}" for path in p.largest]
    return lines


def render(trace: Explanation, described: str, out: Any) -> None:
    """The trace as rich tables and lines on ``out`` (a rich Console)."""
    fd = trace.finite_difference
    out.print(plain(f"network {trace.sizes}, {', '.join(trace.activations)}, {trace.cost} cost; "
                    f"{safe(described)}", None))
    out.print(f"C_x, the cost of this one example: [bold]{trace.cost_value!r}[/]")
    for i in range(len(trace.layers) - 1, -1, -1):
        out.print(layer_table(trace, i))
    for i in range(len(trace.layers)):
        out.print(weight_table(trace, i))
    out.print(check_table(trace))
    sampled = f" (a seeded sample of the {fd['parameters']:,} parameters)" if fd["sampled"] else ""
    out.print(f"finite differences (ε = {fd['eps']:g}) checked {fd['checked']:,} partials{sampled}: "
              f"max relative error {fd['max_error']:.2e}, max absolute {fd['max_absolute_error']:.2e}; "
              f"hand-computed BP1-BP4 vs the engine: {trace.engine_agreement:.1e}")
    out.print(f"SGD step of this example alone, η = {trace.eta:g}: θ ← θ − η ∂C_x/∂θ takes C_x from "
              f"{num(trace.cost_value)} to {num(trace.cost_after_update)}")
    for line in _path_lines(trace):
        out.print(line)
    if trace.callouts:
        from rich.padding import Padding

        out.print("[bold]what to notice[/]")
        for note in trace.callouts:
            out.print(Padding(f"• {note}", (0, 0, 0, 2)))
