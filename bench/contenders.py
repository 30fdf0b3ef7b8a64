"""The contenders: each times one training epoch of a run's recipe and returns its seconds.

- deltaprop: the wall time of the whole ``deltaprop.fit(net, X, y, epochs=1, ...)`` call, as a user
  makes it (input checks, the shuffled epoch, the per-epoch monitoring); only ``Network(...)`` is
  built before the clock starts.
- PyTorch, given its best settings: ``torch.set_flush_denormal(True)``, the same thread count,
  tensors preloaded, one ``randperm`` per epoch and ``index_select``-gathered mini-batches,
  ``zero_grad(set_to_none=True)``, deltaprop's initial parameters, the same loss and dtype. The
  quadratic cost is ``mse_loss(reduction="sum") * 0.5 / k`` (the fastest way of writing
  ½‖a − y‖² averaged over the batch); softmax + log-likelihood is ``cross_entropy`` of the logits.
- scikit-learn: ``MLPClassifier(solver="sgd", max_iter=1)`` with the same sizes, batch, η and
  activation, no momentum and no L2 (``alpha=0``); the time of ``fit``. Its output layer is always
  softmax with log-loss (it has no quadratic cost for classifiers).
- book: ``deltaprop.reference.sgd_epoch``, the book's one-example-at-a-time loop, on the first
  ``book_rows`` rows, its time multiplied by rows / book_rows (it is linear in the rows).
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
from runs import Run


def fit_function() -> Any:
    """``deltaprop.fit``, the public training call."""
    import deltaprop

    return deltaprop.fit


def network(run: Run, dtype: str) -> Any:
    """The run's network, seed 0: every contender starts from these parameters."""
    import deltaprop

    return deltaprop.Network(list(run.sizes), activation=run.activation,
                             output_activation=run.output_activation, cost=run.cost, seed=0,
                             dtype=dtype)


def time_deltaprop(run: Run, X: np.ndarray, y: np.ndarray, dtype: str) -> dict[str, float]:
    """Seconds of the whole fit call, and of its epoch as fit's history records it."""
    fit = fit_function()
    net = network(run, dtype)
    started = time.perf_counter()
    history = fit(net, X, y, epochs=1, batch_size=run.batch_size, eta=run.eta,
                  momentum=run.momentum, seed=1)
    seconds = time.perf_counter() - started
    return {"deltaprop": seconds, "deltaprop_epoch": float(history["seconds"][0])}


def torch_model(run: Run, dtype: str) -> Any:
    """nn.Sequential of nn.Linear layers holding deltaprop's initial parameters; the output layer
    gives logits when the cost is the log-likelihood (cross_entropy applies the softmax)."""
    import torch

    net = network(run, dtype)
    hidden = {"sigmoid": torch.nn.Sigmoid, "relu": torch.nn.ReLU, "tanh": torch.nn.Tanh}
    layers: list[Any] = []
    last = len(net.weights) - 1
    for i, (w, b) in enumerate(zip(net.weights, net.biases, strict=True)):
        linear = torch.nn.Linear(w.shape[1], w.shape[0], dtype=getattr(torch, dtype))
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w))
            linear.bias.copy_(torch.from_numpy(b))
        layers.append(linear)
        if i < last:
            layers.append(hidden[run.activation]())
        elif run.cost != "log_likelihood":
            layers.append(hidden[run.output_activation or run.activation]())
    return torch.nn.Sequential(*layers)


def torch_loss(run: Run) -> Any:
    import torch.nn.functional as F

    if run.cost == "log_likelihood":
        return F.cross_entropy  # (logits, labels): softmax + log-likelihood, mean over the batch
    if run.cost != "quadratic":
        raise ValueError(f"no PyTorch loss for the cost {run.cost!r}")

    def quadratic(output: Any, target: Any) -> Any:
        return F.mse_loss(output, target, reduction="sum") * (0.5 / output.shape[0])

    return quadratic


def time_torch(run: Run, X: np.ndarray, y: np.ndarray, dtype: str, threads: int) -> dict[str, float]:
    import torch

    torch.set_num_threads(threads)
    torch.set_flush_denormal(True)
    model, loss_of = torch_model(run, dtype), torch_loss(run)
    optimizer = torch.optim.SGD(model.parameters(), lr=run.eta, momentum=run.momentum)
    inputs = torch.from_numpy(X)
    labels = torch.from_numpy(y)
    targets = labels if run.cost == "log_likelihood" else (
        torch.nn.functional.one_hot(labels, run.sizes[-1]).to(getattr(torch, dtype)))
    generator = torch.Generator().manual_seed(1)
    n, k = inputs.shape[0], run.batch_size
    started = time.perf_counter()
    order = torch.randperm(n, generator=generator)
    for start in range(0, n, k):
        index = order[start:start + k]
        xb, yb = inputs.index_select(0, index), targets.index_select(0, index)
        optimizer.zero_grad(set_to_none=True)
        loss_of(model(xb), yb).backward()
        optimizer.step()
    return {"torch": time.perf_counter() - started}


def time_sklearn(run: Run, X: np.ndarray, y: np.ndarray, dtype: str) -> dict[str, float]:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    activation = {"sigmoid": "logistic"}.get(run.activation, run.activation)
    model = MLPClassifier(
        hidden_layer_sizes=run.sizes[1:-1], activation=activation, solver="sgd",
        momentum=run.momentum, nesterovs_momentum=False, learning_rate_init=run.eta,
        batch_size=run.batch_size, max_iter=1, alpha=0.0, shuffle=True, random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)  # η = 3 may overflow its log-loss
        started = time.perf_counter()
        model.fit(X, y)
        return {"sklearn": time.perf_counter() - started}


def time_book(run: Run, X: np.ndarray, y: np.ndarray, dtype: str, book_rows: int) -> dict[str, float]:
    from deltaprop import reference

    rows = min(book_rows, X.shape[0])
    net = network(run, dtype)
    Y = np.eye(run.sizes[-1], dtype=dtype)[y[:rows]]
    started = time.perf_counter()
    reference.sgd_epoch(net, X[:rows], Y, run.batch_size, run.eta)
    return {"book": (time.perf_counter() - started) * X.shape[0] / rows}
