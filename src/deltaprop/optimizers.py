"""Optimizers: how one step moves the parameters, given their gradient. Apart from the model.

An optimizer updates ``weights`` and ``biases`` (lists of arrays, changed in place) from the gradient
∇C of the mean cost of a mini-batch (``grad_w``, ``grad_b``, which it may overwrite). Regularization
is part of the cost, so it enters through the gradient of the weights only
(``deltaprop.regularization``): ∇_w C += (λ/n) w + (λ₁/n) sgn(w).

``SGD`` (with momentum and Nesterov momentum), ``Adam`` and ``RMSprop`` are those of ``torch.optim``
(the tests hold each equal to it to 1e-12 over 20 steps in float64), with L2 as torch's
``weight_decay`` = λ/n on the weights.

The table ``OPTIMIZERS`` is the one list of them. Each optimizer is one class that declares its
name, its default η, its ``options`` (``deltaprop.registry.Option``: name, default, rule, help) and
its per-parameter state (``slots``), and writes its update rule (``_update``); registering it makes
it a choice of ``fit(optimizer=...)``, of ``deltaprop train --optimizer`` (with a flag per option),
of the checkpoint schema and of sweeps, with no other edit.

State: each optimizer keeps, per named slot, one vector over every parameter (laid out as ∇C in
``Workspace.gradient``: the weights, then the biases; ``arrays`` gives each parameter's part), η
and its step count t; ``state()`` and ``load_state()`` carry them into and out of checkpoints.
The rules are elementwise, so one pass over the vectors gives what one pass per parameter would,
bit for bit, in a handful of numpy calls whatever the number of layers.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from deltaprop._validation import BOOL, FRACTION, NONNEGATIVE, POSITIVE
from deltaprop.registry import Option, Registry
from deltaprop.regularization import Regularization
from deltaprop.workspace import vector_parts

Array = np.ndarray

OPTIMIZERS: Registry[type[Optimizer]] = Registry("optimizer")
"""Optimizer classes by name: the one table ``fit``, the command line and the schemas read."""


def register_optimizer(cls: type[Optimizer]) -> type[Optimizer]:
    """Class decorator: add an optimizer to ``OPTIMIZERS`` under its ``name``."""
    OPTIMIZERS.register(cls.name, cls)
    return cls


def add_to(params: list[Array], change: Array) -> None:
    """params += change, ``change`` a vector holding each parameter's change one after the other."""
    start = 0
    for param in params:
        stop = start + param.size
        param += change[start:stop].reshape(param.shape)
        start = stop


MOMENTUM = Option("momentum", 0.0, FRACTION, "momentum μ in [0, 1) (sgd, rmsprop)")
EPSILON = Option("epsilon", 1e-8, POSITIVE, "ε added to the denominator (adam, rmsprop)")


class Optimizer:
    """Base class: η, the regularization and its n, the options, the slots, the step count t.

    Args:
        eta: learning rate η > 0 (None: the class's ``default_eta``).
        lmbda: L2 parameter λ >= 0.
        l1: L1 parameter λ₁ >= 0.
        n: the n of λ/n and λ₁/n (the trainer sets it per step under ``mini_batch`` scaling).
        **options: the class's ``options`` by name, each checked by its rule.
    """

    name: ClassVar[str] = ""
    default_eta: ClassVar[float] = 0.01
    options: ClassVar[tuple[Option, ...]] = ()

    def __init__(self, eta: float | None = None, lmbda: float = 0.0, l1: float = 0.0, n: float = 1,
                 **options: Any) -> None:
        known = {option.name for option in self.options}
        if set(options) - known:
            raise TypeError(f"{self.name} takes no option {sorted(set(options) - known)}; its options "
                            f"are {sorted(known) or 'none'}")
        values = {option.name: option.check(options.get(option.name, option.default))
                  for option in self.options}
        self.check_together(values)
        eta = self.default_eta if eta is None else POSITIVE.check("eta", eta)
        regularization = Regularization(NONNEGATIVE.check("lmbda", lmbda), NONNEGATIVE.check("l1", l1))
        self._setup(eta, regularization, n, values)

    @classmethod
    def from_config(cls, config: Any, n: float) -> Optimizer:
        """The optimizer a checked ``TrainingConfig`` names, its values taken as checked."""
        optimizer = cls.__new__(cls)
        values = {option.name: getattr(config, option.name) for option in cls.options}
        optimizer._setup(config.eta, config.regularization, n, values)
        return optimizer

    @classmethod
    def check_together(cls, values: dict[str, Any]) -> None:
        """Refuse options that do not go together (ValueError); each was checked on its own."""

    @classmethod
    def eta_for(cls, cost: Any) -> float:
        """The η of a run on a network with ``cost`` that asks for none: ``default_eta``."""
        return cls.default_eta

    def _setup(self, eta: float, regularization: Regularization, n: float,
               values: dict[str, Any]) -> None:
        self.eta, self.regularization, self.n = eta, regularization, n
        for name, value in values.items():
            setattr(self, name, value)
        self.t = 0  # steps taken
        self._shapes: list[tuple[int, ...]] = []  # of the parameters, weights + biases, on first step
        self._vectors: dict[str, Array] = {}  # slot -> one vector over every parameter
        self._scratch: Array | None = None  # one vector, for the update's temporaries
        self._scratch_parts: list[Array] = []  # its parts, one per parameter

    def as_options(self) -> dict[str, Any]:
        """This optimizer as training options: its name, η, regularization and options."""
        return {"optimizer": self.name, "eta": self.eta, "lmbda": self.regularization.lmbda,
                "l1": self.regularization.l1,
                **{option.name: getattr(self, option.name) for option in self.options}}

    @property
    def slots(self) -> tuple[str, ...]:
        """The names of the per-parameter state arrays this optimizer keeps."""
        return ()

    @property
    def arrays(self) -> dict[str, list[Array]]:
        """slot -> one array per parameter, ordered as weights + biases: views of the slot's vector."""
        return {slot: vector_parts(vector, self._shapes) for slot, vector in self._vectors.items()}

    def step(self, weights: list[Array], biases: list[Array], grad_w: list[Array],
             grad_b: list[Array], gradient: Array | None = None) -> None:
        """Update every parameter in place from ∇C: grad_w and grad_b, which may be overwritten.

        The rule runs once over ∇C as one vector: ``gradient``, whose consecutive parts grad_w +
        grad_b are (``Workspace.gradient``), or else a copy of them. Its slots are vectors of the
        same layout, so each operation of the rule is one numpy call however many layers there are.
        """
        params, grads = weights + biases, grad_w + grad_b
        if gradient is None:
            gradient = np.concatenate([g.reshape(-1) for g in grads])
            grads = vector_parts(gradient, [g.shape for g in grads])
        if self._scratch is None or self._scratch.shape != gradient.shape:
            self._start(params, gradient)
        if self.regularization:
            for w, grad, scratch in zip(weights, grads, self._scratch_parts, strict=False):
                self.regularization.add_gradient(w, grad, self.n, scratch)
        self.t += 1
        self._update(params, gradient, self._scratch)

    def _start(self, params: list[Array], gradient: Array) -> None:
        """First step (or parameters of other shapes): the scratch vector, and the slots' vectors
        (zeros, unless ``load_state`` gave them for these shapes)."""
        shapes = [p.shape for p in params]
        if shapes != self._shapes or set(self._vectors) != set(self.slots):
            self._shapes = shapes
            self._vectors = {slot: np.zeros_like(gradient) for slot in self.slots}
        self._scratch = np.empty_like(gradient)
        self._scratch_parts = vector_parts(self._scratch, shapes)

    def _update(self, params: list[Array], grad: Array, scratch: Array) -> None:
        """Move the parameters by their gradient ``grad``, one vector (overwritable), with the
        slots' vectors ``self._vectors`` and a ``scratch`` vector; ``add_to(params, change)`` adds
        the change, a vector of the same layout."""
        raise NotImplementedError

    def state(self) -> tuple[dict[str, Any], dict[str, list[Array]]]:
        """(numbers, slot arrays): what a checkpoint stores to continue exactly."""
        return {"name": self.name, "eta": self.eta, "t": self.t}, self.arrays

    def load_state(self, numbers: dict[str, Any], arrays: dict[str, list[Array]]) -> None:
        """Continue from ``state()``'s output (arrays are copied in)."""
        if numbers.get("name") != self.name:
            raise ValueError(f"optimizer state of {numbers.get('name')!r} given to {self.name!r}")
        if set(arrays) not in (set(), set(self.slots)):
            raise ValueError(f"optimizer {self.name!r} keeps slots {list(self.slots)}, got {list(arrays)}")
        self.eta = float(numbers["eta"])
        self.t = int(numbers["t"])
        self._load_arrays(arrays)

    def _load_arrays(self, arrays: dict[str, list[Array]]) -> None:
        """Each slot's arrays (one per parameter) copied into the slot's vector."""
        self._shapes = [np.shape(a) for a in next(iter(arrays.values()), [])]
        self._vectors = {slot: np.concatenate([np.asarray(a).reshape(-1) for a in values])
                         for slot, values in arrays.items()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickling; an optimizer pickled when each slot was a list of arrays gets vectors."""
        arrays = state.pop("arrays", None)
        if isinstance(state.get("_scratch"), list):
            state["_scratch"] = None
        self.__dict__.update(state)
        if arrays is not None:
            self._load_arrays(arrays)


@register_optimizer
class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum μ and Nesterov momentum.

    Plain:     w → w − η ∇C
    Momentum:  v → μ v − η ∇C,  w → w + v                (velocity v, slot "velocity")
    Nesterov:  v → μ v − η ∇C,  w → w + μ v − η ∇C

    These are torch.optim.SGD's updates (its buffer is −v/η) for a constant η, and scikit-learn's
    ``SGDOptimizer``'s. Its default η is the book's for the cross-entropy cost (``fit`` gives plain
    SGD its cost's: 3.0 for the quadratic cost).
    """

    name = "sgd"
    default_eta = 0.5
    options = (MOMENTUM, Option("nesterov", False, BOOL, "Nesterov momentum (needs a momentum > 0)"))
    momentum: float
    nesterov: bool

    @classmethod
    def check_together(cls, values: dict[str, Any]) -> None:
        if values.get("nesterov") and not values.get("momentum"):
            raise ValueError("nesterov needs a momentum > 0, got momentum=0")

    @classmethod
    def eta_for(cls, cost: Any) -> float:
        """The cost's η (``Cost.default_eta``), the book's: 3.0 for quadratic, 0.5 for the others."""
        return cost.default_eta

    @property
    def slots(self) -> tuple[str, ...]:
        return ("velocity",) if self.momentum else ()

    def _update(self, params: list[Array], grad: Array, scratch: Array) -> None:
        grad *= -self.eta  # −η ∇C (the gradient vector is the optimizer's to overwrite)
        if not self.momentum:
            add_to(params, grad)  # w → w − η ∇C
            return
        velocity = self._vectors["velocity"]
        velocity *= self.momentum
        velocity += grad  # v → μ v − η ∇C
        if self.nesterov:
            np.multiply(velocity, self.momentum, out=scratch)
            grad += scratch
            add_to(params, grad)  # w → w + μ v − η ∇C
        else:
            add_to(params, velocity)  # w → w + v


@register_optimizer
class Adam(Optimizer):
    """Adam (Kingma & Ba), as torch.optim.Adam defines it, L2 through the gradient.

    m → β₁ m + (1 − β₁) ∇C,  v → β₂ v + (1 − β₂) ∇C²,  w → w − η m̂ / (√v̂ + ε)
    with m̂ = m / (1 − β₁^t) and v̂ = v / (1 − β₂^t) at step t (slots "exp_avg", "exp_avg_sq").

    ``sklearn_step=True`` places ε as scikit-learn's ``AdamOptimizer`` does, operation for
    operation: w → w − η_t m / (√v + ε) with η_t = η √(1 − β₂^t) / (1 − β₁^t).
    """

    name = "adam"
    default_eta = 0.001
    options = (Option("beta_1", 0.9, FRACTION, "Adam's decay of the gradient's mean, in [0, 1)"),
               Option("beta_2", 0.999, FRACTION, "Adam's decay of the gradient's square, in [0, 1)"),
               EPSILON)
    slots = ("exp_avg", "exp_avg_sq")  # type: ignore[assignment]
    beta_1: float
    beta_2: float
    epsilon: float

    def __init__(self, eta: float | None = None, lmbda: float = 0.0, l1: float = 0.0, n: float = 1,
                 sklearn_step: bool = False, **options: Any) -> None:
        super().__init__(eta, lmbda, l1, n, **options)
        self.sklearn_step = sklearn_step

    @classmethod
    def from_config(cls, config: Any, n: float) -> Optimizer:
        optimizer = super().from_config(config, n)
        optimizer.sklearn_step = False  # type: ignore[attr-defined]
        return optimizer

    def _update(self, params: list[Array], grad: Array, scratch: Array) -> None:
        m, v = self._vectors["exp_avg"], self._vectors["exp_avg_sq"]
        m *= self.beta_1
        np.multiply(grad, 1.0 - self.beta_1, out=scratch)
        m += scratch  # m → β₁ m + (1 − β₁) g
        v *= self.beta_2
        np.multiply(grad, grad, out=grad)
        grad *= 1.0 - self.beta_2
        v += grad  # v → β₂ v + (1 − β₂) g²
        if self.sklearn_step:
            step = self.eta * math.sqrt(1 - self.beta_2 ** self.t) / (1 - self.beta_1 ** self.t)
            np.sqrt(v, out=grad)
            grad += self.epsilon  # √v + ε
            np.multiply(m, -step, out=scratch)
            scratch /= grad
            add_to(params, scratch)  # w → w − η_t m / (√v + ε)
            return
        np.sqrt(v, out=scratch)
        scratch /= math.sqrt(1.0 - self.beta_2 ** self.t)
        scratch += self.epsilon  # √v̂ + ε
        np.divide(m, scratch, out=scratch)
        scratch *= -self.eta / (1.0 - self.beta_1 ** self.t)
        add_to(params, scratch)  # w → w − η m̂/(√v̂ + ε)


@register_optimizer
class RMSprop(Optimizer):
    """RMSprop (Hinton), as torch.optim.RMSprop defines it, with torch's defaults.

    s → ρ s + (1 − ρ) ∇C²                                  (slot "square_avg")
    centered: ḡ → ρ ḡ + (1 − ρ) ∇C, d = √(s − ḡ²) + ε      (slot "grad_avg")
    else:     d = √s + ε
    w → w − η ∇C / d, or with momentum μ: b → μ b + ∇C / d, w → w − η b   (slot "momentum_buffer")
    """

    name = "rmsprop"
    default_eta = 0.01
    options = (Option("rho", 0.99, FRACTION, "RMSprop's decay of the squared gradient's mean "
                                             "(torch's alpha), in [0, 1)"),
               MOMENTUM, EPSILON,
               Option("centered", False, BOOL, "RMSprop: divide by the gradient's estimated variance "
                                               "instead of its mean square"))
    rho: float
    momentum: float
    epsilon: float
    centered: bool

    @property
    def slots(self) -> tuple[str, ...]:
        return (("square_avg",) + (("grad_avg",) if self.centered else ())
                + (("momentum_buffer",) if self.momentum else ()))

    def _update(self, params: list[Array], grad: Array, scratch: Array) -> None:
        square_avg = self._vectors["square_avg"]
        square_avg *= self.rho
        np.multiply(grad, grad, out=scratch)
        scratch *= 1.0 - self.rho
        square_avg += scratch  # s → ρ s + (1 − ρ) g²
        if self.centered:
            grad_avg = self._vectors["grad_avg"]
            grad_avg *= self.rho
            np.multiply(grad, 1.0 - self.rho, out=scratch)
            grad_avg += scratch  # ḡ → ρ ḡ + (1 − ρ) g
            np.multiply(grad_avg, grad_avg, out=scratch)
            np.subtract(square_avg, scratch, out=scratch)
            np.sqrt(scratch, out=scratch)
        else:
            np.sqrt(square_avg, out=scratch)
        scratch += self.epsilon  # d
        grad /= scratch  # g / d
        if self.momentum:
            buffer = self._vectors["momentum_buffer"]
            buffer *= self.momentum
            buffer += grad  # b → μ b + g / d
            grad = buffer
        np.multiply(grad, -self.eta, out=scratch)
        add_to(params, scratch)  # w → w − η b (or η g / d)
