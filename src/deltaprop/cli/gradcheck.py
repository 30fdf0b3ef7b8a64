"""``deltaprop gradcheck``: compare backprop's gradient with central finite differences, and time both."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from deltaprop._output import plain, safe, warn
from deltaprop.cli._common import (
    EXIT_FAILED,
    EXIT_OK,
    add_network_options,
    console,
    layer_sizes,
    nonnegative_int,
    numbers_table,
    positive_float,
    positive_int,
    print_json,
)
from deltaprop.datasets import load_dataset
from deltaprop.diagnostics import GradcheckResult, check_gradcheck_work, gradcheck
from deltaprop.network import Network


def add_parser(commands: Any) -> None:
    """The ``gradcheck`` subcommand."""
    parser = commands.add_parser(
        "gradcheck", help="compare backprop with finite differences",
        description="Build a float64 network, compare its backprop gradient with central finite "
                    "differences, and time both: backprop gets every partial derivative from one "
                    "forward and one backward pass. Exits 1 if the largest relative error "
                    "exceeds --tolerance.",
    )
    parser.add_argument("--sizes", type=layer_sizes, default=[64, 30, 10],
                        help="layer sizes, input first (default: 64,30,10)")
    add_network_options(parser)
    parser.add_argument("--data", choices=["random", "digits"], default="random",
                        help="random inputs in [0, 1) with random labels, or rows of the digits "
                             "(needs 64 inputs; default: random)")
    parser.add_argument("--rows", type=positive_int, default=10, help="rows of data (default: 10)")
    parser.add_argument("--max-params", type=positive_int, default=None,
                        help="check a random sample of this many parameters (default: all)")
    parser.add_argument("--eps", type=positive_float, default=1e-6,
                        help="finite-difference step (default: 1e-06)")
    parser.add_argument("--tolerance", type=positive_float, default=1e-6,
                        help="largest relative error that passes (default: 1e-06)")
    parser.add_argument("--seed", type=nonnegative_int, default=0,
                        help="seed of the weights, the data and the sample (default: 0)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def check_data(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray]:
    """The rows the gradient is computed on: random, or the first rows of the digits."""
    n_in, n_out = args.sizes[0], args.sizes[-1]
    if args.data == "digits":
        if n_in != 64 or n_out < 10:
            raise ValueError(
                f"--data digits needs 64 inputs and at least 10 outputs, got --sizes "
                f"{','.join(map(str, args.sizes))}"
            )
        train = load_dataset("digits", dtype="float64", seed=args.seed).train
        if args.rows > train.X.shape[0]:
            raise ValueError(f"--rows is {args.rows:,}, more than the {train.X.shape[0]:,} training "
                             "rows of the digits")
        return train.X[:args.rows], train.y[:args.rows]
    rng = np.random.default_rng(args.seed)
    return rng.uniform(0.0, 1.0, (args.rows, n_in)), rng.integers(0, n_out, args.rows)


def as_json(result: GradcheckResult, net: Network, rows: int, tolerance: float) -> dict[str, Any]:
    """The object --json prints."""
    return {
        "sizes": list(net.sizes), "activations": net.activation_names,
        "cost": net.cost_function.name, "rows": rows,
        "layers": [vars(layer) for layer in result.layers],
        "max_error": result.max_error, "tolerance": tolerance,
        "passed": result.max_error <= tolerance,
        "backprop_evaluations": result.backprop_evaluations,
        "finite_difference_evaluations": result.finite_difference_evaluations,
        "backprop_seconds": result.backprop_seconds,
        "finite_difference_seconds": result.finite_difference_seconds,
        "speedup": result.speedup,
    }


def report(args: argparse.Namespace, result: GradcheckResult, net: Network, rows: int) -> None:
    """The network, the per-layer errors, the cost of each method and the verdict, on stdout."""
    layers = numbers_table(None, "layer", "shape", "checked", "weight error", "bias error")
    for check, (n_in, n_out) in zip(result.layers, net.layer_shapes(), strict=True):
        layers.add_row(str(check.layer), f"{n_out}x{n_in}", str(check.checked),
                       f"{check.weight_error:.2e}", f"{check.bias_error:.2e}")
    cost = numbers_table(None, "method", "cost evaluations", "seconds", left=1)
    cost.add_row("backprop", f"{result.backprop_evaluations} (+1 backward pass)",
                 f"{result.backprop_seconds:.6f}")
    cost.add_row("finite differences", str(result.finite_difference_evaluations),
                 f"{result.finite_difference_seconds:.6f}")
    out = console()
    out.print(plain(f"network {list(net.sizes)}, {', '.join(net.activation_names)}, "
                    f"{net.cost_function.name} cost, float64, {rows} rows of {safe(args.data)} data, "
                    f"ε = {args.eps:g}", None))
    out.print("max relative error of each layer's gradient, backprop vs central finite differences:")
    out.print(layers)
    out.print("cost of computing the gradient:")
    out.print(cost)
    out.print(f"speed-up of backprop: [bold]{result.speedup:,.0f}x[/]")
    verdict = "[bold green]OK[/]" if result.max_error <= args.tolerance else "[bold red]FAILED[/]"
    out.print(f"max relative error {result.max_error:.2e} (tolerance {args.tolerance:g}): {verdict}")


def run(args: argparse.Namespace) -> int:
    """``deltaprop gradcheck``: exit 0 when the check passes, 1 when it fails."""
    check_gradcheck_work(args.sizes, args.rows, args.eps, args.max_params, option="--")
    net = Network(args.sizes, activation=args.activation, output_activation=args.output_activation,
                  cost=args.cost, seed=args.seed, dtype="float64")
    X, y = check_data(args)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # said in words below
        result = gradcheck(net, X, y, eps=args.eps, max_params=args.max_params, seed=args.seed)
    if not np.isfinite(result.max_error):
        warn("the gradients overflowed the floating-point range (the data's values are extreme): "
             "scale the data's columns, e.g. to [0, 1]")
    if args.json:
        print_json(as_json(result, net, int(X.shape[0]), args.tolerance))
    else:
        report(args, result, net, int(X.shape[0]))
    return EXIT_OK if result.max_error <= args.tolerance else EXIT_FAILED
