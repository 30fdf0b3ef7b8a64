"""``deltaprop experiment``: the book's experiments, first chapter 5's vanishing gradient.

    deltaprop experiment vanishing-gradient --data-dir ../shared/data/mnist --epochs 30 --out vg.png

prints, for [784,30,30,10], [784,30,30,30,10] and [784,30,30,30,30,10], the speed of learning of each
hidden layer (‖∂C/∂b^l‖ of the gradient over the first 1000 MNIST training images) at initialization,
median over the seeds and each seed listed, beside the book's figures, and during training; ``--json``
prints {"networks": [{"sizes", "initial_speed", "initial_speed_by_seed", "speed_by_epoch", ...}]}.
"""

from __future__ import annotations

import argparse
from typing import Any

from deltaprop._output import plain, safe
from deltaprop.cli._common import EXIT_OK, console, nonnegative_int, numbers_table, positive_int, print_json
from deltaprop.experiments import (
    DEFAULT_EPOCHS,
    DEFAULT_SEEDS,
    IMAGES,
    VanishingGradient,
    first_training_images,
    plot_vanishing_gradient,
    vanishing_gradient,
)

EXPERIMENTS = ("vanishing-gradient",)
SHOWN_EPOCHS = (0, 1, 2, 5, 10, 20, 50, 100, 200, 300, 400, 500)  # rows of the training table


def add_parser(commands: Any) -> None:
    """The ``experiment`` subcommand."""
    parser = commands.add_parser(
        "experiment", help="run one of the book's experiments",
        description="vanishing-gradient (Nielsen, ch. 5): how fast each hidden layer of sigmoid "
                    "networks learns, ‖∂C/∂b^l‖ of the gradient over the first 1000 MNIST training "
                    "images, at initialization (median over seeds) and after each epoch of training "
                    "(η = 0.1, λ = 5, mini-batches of 10), beside the book's figures.",
    )
    parser.add_argument("name", choices=EXPERIMENTS, help="the experiment")
    parser.add_argument("--data-dir", default=None,
                        help="folder of the MNIST files (downloaded there when missing)")
    parser.add_argument("--epochs", type=nonnegative_int, default=DEFAULT_EPOCHS,
                        help=f"epochs of training, 0 for initialization only "
                             f"(default: {DEFAULT_EPOCHS}, as the book)")
    parser.add_argument("--seeds", type=positive_int, default=len(DEFAULT_SEEDS),
                        help=f"seeds 0..N-1 of the initial parameters (default: {len(DEFAULT_SEEDS)})")
    parser.add_argument("--images", type=positive_int, default=IMAGES,
                        help=f"first training images the gradient is taken over (default: {IMAGES})")
    parser.add_argument("--out", default=None, metavar="FIG.png", help="draw the book's figure here")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _cells(values: list[float] | None, layers: int) -> list[str]:
    """One cell per hidden layer (blank beyond the network's depth)."""
    values = values or []
    return [f"{v:.3g}" for v in values] + [""] * (layers - len(values))


def _table(title: str, first: str, layers: int) -> Any:
    """Columns: the network, ``first``, one per hidden layer."""
    return numbers_table(title, "network", first, *(f"hidden {i + 1}" for i in range(layers)), left=1)


def initial_table(result: VanishingGradient) -> Any:
    """Per architecture: each seed's speeds at initialization, their median and the book's."""
    layers = max(len(net.sizes) - 2 for net in result.networks)
    table = _table(f"speed of learning ‖∂C/∂b^l‖ at initialization ({result.images} images)",
                   "seed", layers)
    for net in result.networks:
        name = ",".join(map(str, net.sizes))
        for seed, values in net.initial_speed_by_seed.items():
            table.add_row(name, str(seed), *_cells(values, layers))
            name = ""
        table.add_row("", "[bold]median[/]", *(f"[bold]{c}[/]" for c in
                                                _cells(net.initial_speed, layers)))
        table.add_row("", "the book", *_cells(net.book_initial_speed, layers), end_section=True)
    return table


def training_table(result: VanishingGradient) -> Any:
    """Per architecture and a few epochs: the speed of each hidden layer during training."""
    layers = max(len(net.sizes) - 2 for net in result.networks)
    table = _table(f"during training (seed {result.seeds[0]}, η = {result.eta:g}, λ = "
                   f"{result.lmbda:g}, batch {result.batch_size})", "epoch", layers)
    epochs = sorted({e for e in SHOWN_EPOCHS if e <= result.epochs} | {result.epochs})
    for net in result.networks:
        for epoch in epochs:
            name = ",".join(map(str, net.sizes)) if epoch == 0 else ""
            table.add_row(name, str(epoch), *_cells(net.speed_by_epoch[epoch], layers),
                          end_section=epoch == epochs[-1])
    return table


def run(args: argparse.Namespace) -> int:
    """``deltaprop experiment vanishing-gradient``."""
    X, y = first_training_images(args.data_dir, args.images)
    result = vanishing_gradient(X, y, epochs=args.epochs, seeds=range(args.seeds))
    if args.out is not None:
        plot_vanishing_gradient(result, args.out)
    if args.json:
        print_json(result.to_dict())
        return EXIT_OK
    out = console()
    out.print(initial_table(result))
    if args.epochs:
        out.print(training_table(result))
    out.print("Earlier hidden layers learn slower: the gradient vanishes as it is propagated back "
              "(Nielsen, ch. 5). The speed here is the gradient over the images at one point; "
              "'learning_speed' in a training history is the norm of an epoch's mean mini-batch "
              "gradient.")
    if args.out is not None:
        out.print(plain(f"figure: {safe(args.out)}", None))
    out.print(f"{result.seconds:.1f} s")
    return EXIT_OK
