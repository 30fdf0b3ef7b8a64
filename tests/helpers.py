"""Shared test helpers: the valid activation × cost pairings, small random problems and small run
folders."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np

from deltaprop import Network, cli

OUTPUTS = ["sigmoid", "tanh", "relu", "leaky_relu", "linear", "softmax"]
HIDDEN = ["sigmoid", "tanh", "relu", "leaky_relu", "linear"]
PROBABILITY_OUTPUTS = ["sigmoid", "softmax"]

# Every valid pairing of an output activation with a cost: cross-entropy and log-likelihood need
# outputs in (0, 1).
PAIRINGS = (
    [(out, "quadratic") for out in OUTPUTS]
    + [(out, "cross_entropy") for out in PROBABILITY_OUTPUTS]
    + [(out, "log_likelihood") for out in PROBABILITY_OUTPUTS]
)


def random_problem(
    sizes: list[int], m: int, cost: str, rng: np.random.Generator, dtype: str = "float64"
) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (m, sizes[0]) and targets (m, sizes[-1]) suited to the cost."""
    X = rng.normal(size=(m, sizes[0])).astype(dtype)
    if cost == "log_likelihood":
        Y = np.eye(sizes[-1], dtype=dtype)[rng.integers(0, sizes[-1], m)]
    else:
        Y = rng.uniform(0.0, 1.0, size=(m, sizes[-1])).astype(dtype)
    return X, Y


def make_network(sizes, hidden, output, cost, seed=0, dtype="float64") -> Network:
    return Network(sizes, activation=hidden, output_activation=output, cost=cost, seed=seed,
                   dtype=dtype)


def trained_run(out: Path, epochs: int = 2, hidden: int = 8) -> Path:
    """A small run folder at ``out``, written by ``deltaprop train`` on the digits (no plots, its
    output silenced); returns ``out``."""
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli.main(["train", "--epochs", str(epochs), "--hidden", str(hidden), "--out", str(out),
                         "--quiet", "--no-plots"]) == 0
    return out
