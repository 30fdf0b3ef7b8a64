"""deltaprop: feedforward neural networks trained by backpropagation, after Nielsen's chapter 2."""

from deltaprop.activations import ACTIVATIONS, Activation, get_activation, register_activation
from deltaprop.costs import COSTS, Cost, get_cost, register_cost
from deltaprop.diagnostics import gradcheck
from deltaprop.io import load
from deltaprop.network import INITIALIZERS, Network

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "COSTS",
    "INITIALIZERS",
    "Activation",
    "Cost",
    "Network",
    "__version__",
    "get_activation",
    "get_cost",
    "gradcheck",
    "load",
    "register_activation",
    "register_cost",
]
