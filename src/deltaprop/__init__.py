"""deltaprop: feedforward neural networks trained by backpropagation, after Nielsen's chapter 2.

    net = deltaprop.Network([784, 30, 10], cost="cross_entropy", seed=0)
    history = deltaprop.fit(net, X, y, epochs=30, batch_size=10, eta=0.5)
    deltaprop.save(net, "model.safetensors"); net = deltaprop.load("model.safetensors")
"""

import sys as _sys

from deltaprop._version import __version__
from deltaprop.activations import ACTIVATIONS, Activation, get_activation, register_activation
from deltaprop.checkpoint import Checkpoint
from deltaprop.costs import COSTS, Cost, get_cost, register_cost
from deltaprop.diagnostics import gradcheck
from deltaprop.explanation import explain
from deltaprop.history import History
from deltaprop.io import load, save
from deltaprop.network import INITIALIZERS, Network
from deltaprop.optimizers import SGD, Adam, Optimizer
from deltaprop.options import TrainingConfig
from deltaprop.training import fit


def _register_notebook_display() -> None:
    """Inside IPython (a Jupyter kernel, or its terminal), give it the HTML of deltaprop's objects and
    ``fit(progress=True)`` the notebook's live view (``deltaprop.report.notebook.register``). Plain
    ``import deltaprop`` neither imports IPython nor the report."""
    ipython = _sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is not None:
        from deltaprop.report.notebook import register

        register(shell)


_register_notebook_display()

__all__ = [
    "ACTIVATIONS",
    "COSTS",
    "INITIALIZERS",
    "SGD",
    "Activation",
    "Adam",
    "Checkpoint",
    "Cost",
    "History",
    "Network",
    "Optimizer",
    "TrainingConfig",
    "__version__",
    "explain",
    "fit",
    "get_activation",
    "get_cost",
    "gradcheck",
    "load",
    "register_activation",
    "register_cost",
    "save",
]
