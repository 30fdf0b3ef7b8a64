"""The feedforward network and backpropagation, in the notation of Nielsen's chapter 2.

Layer l = 1..L has weights w^l of shape (n_l, n_{l-1}), so ``weights[l-1][j, k]`` is the book's w^l_jk,
and biases b^l of shape (n_l,). Rows are examples: a mini-batch X has shape (m, n_0), and each layer's
z and a have shape (m, n_l). In row form the book's equations read

    feedforward   z^l = a^(l-1) (w^l)^T + b^l,          a^l = σ(z^l)
    BP1           δ^L = ∇_a C ⊙ σ'(z^L)                 (the cost's ``delta``)
    BP2           δ^l = (δ^(l+1) w^(l+1)) ⊙ σ'(z^l)
    BP3           ∂C/∂b^l = mean over rows of δ^l
    BP4           ∂C/∂w^l = (δ^l)^T a^(l-1) / m

so one forward and one backward pass over the whole mini-batch give every partial derivative.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from deltaprop._validation import (
    as_classes,
    as_float_matrix,
    as_labels,
    as_parameter,
    as_sample_weight,
    as_targets,
    check_allocation,
    check_dtype,
    check_number,
    check_positive_int,
    check_same_rows,
)
from deltaprop.activations import Activation, resolve_activations
from deltaprop.costs import Cost, check_pairing, get_cost
from deltaprop.initializers import INITIALIZERS
from deltaprop.limits import MAX_LAYERS
from deltaprop.regularization import Regularization
from deltaprop.scaling import Scaling
from deltaprop.workspace import Workspace

Array = np.ndarray
DEFAULT_COST = "cross_entropy"
"""The cost of a network that names none: the book's network2, and ``deltaprop train``'s default."""
UNSURE_BELOW = 0.5
"""The probability below which the network is unsure of a row's class: ``Network.unsure``'s default,
and the rule of ``deltaprop predict``'s ``?`` mark and ``unsure`` note."""


def _check_sizes(sizes: object) -> tuple[int, ...]:
    if isinstance(sizes, str | bytes) or not isinstance(sizes, Sequence):
        raise TypeError(f"sizes must be a list of layer sizes like [784, 30, 10], got {sizes!r}")
    if len(sizes) < 2:
        raise ValueError(
            f"sizes must name at least an input and an output layer, like [784, 10], got {sizes!r}"
        )
    if len(sizes) - 1 > MAX_LAYERS:
        raise ValueError(f"sizes describe {len(sizes) - 1:,} layers, more than the limit of {MAX_LAYERS:,}")
    return tuple(check_positive_int(f"sizes[{i}]", size) for i, size in enumerate(sizes))


def _shortened(sizes: Sequence[int], keep: int = 6) -> str:
    """[784, 30, 10], or [784, 30, ..., 10] (n layers) for long lists: messages stay one line."""
    if len(sizes) <= keep:
        return str(list(sizes))
    return f"[{', '.join(map(str, sizes[:keep - 1]))}, ..., {sizes[-1]}] ({len(sizes)} layers)"


class Network:
    """A feedforward network trained by backpropagation.

    Args:
        sizes: units per layer, input first, e.g. ``[784, 30, 10]``.
        activation: the hidden layers' activation, a name (or object) as ``deltaprop train
            --activation``; or a list of ``len(sizes) - 1`` of them naming every layer after the
            input, the last being the output layer's.
        output_activation: the output layer's activation; by default the cost's
            (``Cost.output_activation``): sigmoid for the quadratic and cross-entropy costs, softmax
            for the log-likelihood. Given, it also overrides the last name of a list.
        cost: ``"cross_entropy"`` (the default, as for ``deltaprop train``), ``"quadratic"`` or
            ``"log_likelihood"`` (or a Cost object).
        init: ``"default"`` (N(0, 1/n_in) weights, N(0, 1) biases), ``"large"``, ``"xavier"``, ``"he"``.
        seed: seed of the numpy Generator that draws the initial parameters.
        dtype: ``"float64"`` or ``"float32"``; every array of the network and of its training has it.
        classes: the label each output unit stands for (``sizes[-1]`` distinct integers or strings),
            as scikit-learn's ``classes_``; None (the default) means the labels are the unit indices
            0 .. sizes[-1] - 1. ``fit`` sets them from labels that are not such indices.

    Attributes:
        sizes: the layer sizes, a tuple.
        weights: ``weights[i]`` has shape (sizes[i+1], sizes[i]); entry [j, k] is the book's w^l_jk.
        biases: ``biases[i]`` has shape (sizes[i+1],).
        activations: one Activation per layer after the input.
        cost_function: the Cost object (``cost(X, Y)`` is the method that evaluates it).
        classes: the class labels, a 1-D array of ``sizes[-1]`` (int64 or str), or None.
        scaling: the scaling of the input features, part of the model (``deltaprop.scaling``), or
            None (the default): every method taking raw rows X turns them into a^0 with it.
    """

    classes: Array | None = None  # networks pickled before classes existed have none
    scaling: Scaling | None = None  # nor a scaling

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str | Activation | Sequence[str | Activation] = "sigmoid",
        output_activation: str | Activation | None = None,
        cost: str | Cost = DEFAULT_COST,
        init: str = "default",
        seed: int | None = None,
        dtype: str | np.dtype = "float64",
        classes: Sequence[Any] | None = None,
    ) -> None:
        initializer = INITIALIZERS.get_entry(init)
        self._set_structure(sizes, activation, output_activation, cost, dtype, classes)
        self.init = init
        rng = np.random.default_rng(seed)
        layers = [initializer(rng, n_in, n_out) for n_in, n_out in self.layer_shapes()]
        self.weights = [w.astype(self.dtype) for w, _ in layers]
        self.biases = [b.astype(self.dtype) for _, b in layers]

    def _set_structure(self, sizes: Sequence[int], activation: Any, output_activation: Any, cost: Any,
                  dtype: Any, classes: Any = None) -> None:
        """Check and set sizes, dtype, cost, activations and classes: everything but the parameters
        (refusing a network larger than memory)."""
        self.sizes = _check_sizes(sizes)
        self.dtype = check_dtype(dtype)
        check_allocation(f"a network with sizes {_shortened(self.sizes)}",
                         self.num_parameters * self.dtype.itemsize, "choose smaller layers")
        self.cost_function = get_cost(cost)
        self.activations = resolve_activations(activation, output_activation, len(self.sizes) - 1,
                                               self.cost_function.output_activation)
        check_pairing(self.cost_function, self.activations[-1], self.sizes[-1])
        self.classes = None if classes is None else as_classes(
            "classes", classes, self.sizes[-1])
        self.training_config: dict[str, Any] = {}  # set by fit, saved with the model

    @classmethod
    def from_parameters(
        cls,
        weights: Sequence[Any],
        biases: Sequence[Any],
        activation: str | Activation | Sequence[str | Activation] = "sigmoid",
        output_activation: str | Activation | None = None,
        cost: str | Cost = DEFAULT_COST,
        dtype: str | np.dtype = "float64",
        classes: Sequence[Any] | None = None,
    ) -> Network:
        """A network around given parameters: ``weights[i]`` (n_out, n_in), ``biases[i]`` (n_out,).

        Sizes are inferred from the weights and every shape is checked. The arrays are converted to
        ``dtype`` (copied only when needed). The other arguments are ``Network``'s.
        """
        dtype = check_dtype(dtype)
        if len(weights) == 0 or len(weights) != len(biases):
            raise ValueError(
                f"weights and biases must be two non-empty lists of equal length, "
                f"got {len(weights)} weights and {len(biases)} biases"
            )
        weights = [np.asarray(w) for w in weights]
        for i, w in enumerate(weights):
            if w.ndim != 2 or 0 in w.shape:
                raise ValueError(f"weights[{i}] must be a non-empty 2-D array, got shape {w.shape}")
        sizes = [weights[0].shape[1]] + [w.shape[0] for w in weights]  # checked again below
        net = cls.__new__(cls)  # no random parameters drawn only to be replaced
        net._set_structure(sizes, activation, output_activation, cost, dtype, classes)
        net.weights = [as_parameter(f"weights[{i}]", w, (sizes[i + 1], sizes[i]), net.dtype)
                       for i, w in enumerate(weights)]
        net.biases = [as_parameter(f"biases[{i}]", b, (sizes[i + 1],), net.dtype)
                      for i, b in enumerate(biases)]
        net.init = "given"
        return net

    # -- shapes and names -------------------------------------------------------------------------

    @property
    def num_layers(self) -> int:
        """Number of layers with parameters (L): len(sizes) - 1."""
        return len(self.sizes) - 1

    def layer_shapes(self) -> list[tuple[int, int]]:
        """(n_in, n_out) of each layer with parameters."""
        return list(zip(self.sizes[:-1], self.sizes[1:], strict=True))

    @property
    def num_parameters(self) -> int:
        return sum(n_out * n_in + n_out for n_in, n_out in self.layer_shapes())

    @property
    def activation_names(self) -> list[str]:
        return [act.name for act in self.activations]

    @property
    def architecture(self) -> dict[str, Any]:
        """Sizes, activation names, cost name and dtype name: what two networks share to be the
        same model (a checkpoint resumes only into a network of its architecture)."""
        return {"sizes": list(self.sizes), "activations": self.activation_names,
                "cost": self.cost_function.name, "dtype": self.dtype.name}

    def __repr__(self) -> str:
        return (
            f"Network(sizes={list(self.sizes)}, activation={self.activation_names}, "
            f"cost={self.cost_function.name!r}, dtype={self.dtype.name!r}"
            + ("" if self.scaling is None else f", scaling={self.scaling.name!r}") + ")"
        )

    # -- input checks -----------------------------------------------------------------------------

    def check_X(self, X: Any, name: str = "X") -> Array:
        """X as a finite (m, sizes[0]) array of the network's dtype, still in the units given (not
        scaled); raises ValueError/TypeError."""
        return as_float_matrix(name, X, self.sizes[0], self.dtype)

    def input_activations(self, X: Any, name: str = "X") -> Array:
        """a^0, the input layer's activations, for raw rows X (m, sizes[0]): X checked, then scaled
        by the network's ``scaling`` when it has one (a^0 = X without one)."""
        X = self.check_X(X, name)
        return X if self.scaling is None else self.scaling.apply(X)

    def set_scaling(self, scaling: Scaling | None) -> None:
        """Make ``scaling`` (fitted on training rows, ``deltaprop.scaling.fit_scaling``) part of the
        model, or remove it (None). It must scale ``sizes[0]`` features; it is kept in the network's dtype."""
        if scaling is not None:
            if not isinstance(scaling, Scaling):
                raise TypeError(f"scaling must be a deltaprop.scaling.Scaling or None, got "
                                f"{type(scaling).__name__}")
            if scaling.n_features != self.sizes[0]:
                raise ValueError(f"the scaling has {scaling.n_features} features, but the network "
                                 f"takes {self.sizes[0]} inputs")
            scaling = scaling.astype(self.dtype)
        self.scaling = scaling

    def check_Y(self, Y: Any, name: str = "Y") -> Array:
        """Targets as a finite (m, sizes[-1]) array; 1-D class labels (members of ``classes`` when
        set, else unit indices) are one-hot encoded."""
        return as_targets(name, Y, self.sizes[-1], self.dtype, self.classes)

    def check_labels(self, y: Any, name: str = "y") -> Array:
        """1-D class labels as the int64 indices (m,) of their output units."""
        return as_labels(name, y, self.sizes[-1], classes=self.classes)

    def check_XY(self, X: Any, Y: Any, x_name: str = "X", y_name: str = "Y") -> tuple[Array, Array]:
        """(a^0, targets) for raw rows X and their targets: ``input_activations`` and ``check_Y``."""
        X, Y = self.input_activations(X, x_name), self.check_Y(Y, y_name)
        check_same_rows(x_name, X, y_name, Y)
        return X, Y

    # -- feedforward and backpropagation ----------------------------------------------------------

    def feedforward(self, X: Any) -> Array:
        """Output activations a^L for the raw rows of X: shape (m, sizes[0]) in, (m, sizes[-1]) out."""
        X = self.input_activations(X)
        return self.forward(X, Workspace(self.sizes, self.dtype, X.shape[0], backward=False)).activations[-1]

    def forward(
        self, X: Array, workspace: Workspace | None = None, masks: Sequence[Array] | None = None
    ) -> Workspace:
        """Feedforward of a^0 = X (m, sizes[0]), rows already checked and scaled
        (``input_activations``), into ``workspace`` (a new one by default).

        Fills ``zs[l-1]`` = z^l and ``activations[l]`` = a^l (a^0 = X) and returns the workspace.
        With dropout ``masks`` (one (m, n_l) array of 0 and 1/(1 − p) per hidden layer), each hidden
        layer passes a^l ⊙ mask^l on to the next (``inputs``); activations stay σ(z^l).
        """
        m = X.shape[0]
        if workspace is None:
            workspace = Workspace(self.sizes, self.dtype, m, masks is not None, backward=False)
        space = workspace.rows(m)
        space.activations[0] = space.inputs[0] = X
        last = self.num_layers - 1
        for i, (w, b, act) in enumerate(zip(self.weights, self.biases, self.activations, strict=True)):
            z = np.dot(space.inputs[i], w.T, out=space.zs[i])  # z^l = w^l a^(l-1) + b^l
            z += b
            a = act.forward(z, out=space.activations[i + 1])  # a^l = σ(z^l)
            if i < last:
                space.inputs[i + 1] = a if masks is None else np.multiply(
                    a, masks[i], out=space.masked[i])
        return space

    def backprop(self, X: Any, Y: Any, sample_weight: Any = None) -> tuple[list[Array], list[Array]]:
        """Gradient of the mean (unregularized) cost over the rows of X, in one matrix-based pass.

        Args:
            X: inputs, shape (m, sizes[0]).
            Y: targets, shape (m, sizes[-1]), or class labels of shape (m,).
            sample_weight: optional weights s_x >= 0, shape (m,): the gradient is then that of the
                weighted mean Σ_x s_x C_x / Σ_x s_x.

        Returns:
            (nabla_b, nabla_w), new arrays shaped like ``biases`` and ``weights``.
        """
        X, Y = self.check_XY(X, Y)
        row_weights = None if sample_weight is None else mean_weights(
            as_sample_weight("sample_weight", sample_weight, X.shape[0], self.dtype))
        return self.gradient(X, Y, row_weights)

    def gradient(
        self,
        X: Array,
        Y: Array,
        row_weights: Array | None = None,
        masks: Sequence[Array] | None = None,
        workspace: Workspace | None = None,
    ) -> tuple[list[Array], list[Array]]:
        """Backpropagation on checked arrays a^0 = X (m, n_0) (``input_activations``) and Y (m, n_L):
        the gradient Σ_x r_x ∇C_x.

        ``row_weights`` r (m,) default to 1/m (the mean). The arrays returned are the workspace's
        ``nabla_b`` and ``nabla_w`` (a new workspace's unless one is given, then overwritten by its
        next use). This is the one backpropagation of deltaprop: ``fit`` runs it for every mini-batch.
        """
        if workspace is None:
            workspace = Workspace(self.sizes, self.dtype, X.shape[0], dropout=masks is not None)
        space = self.forward(X, workspace, masks)
        zs, activations, deltas, scratch = space.zs, space.activations, space.deltas, space.scratch
        L = self.num_layers
        # BP1: δ^L = ∇_a C ⊙ σ'(z^L), asked of the cost (a − y where σ' cancels)
        self.cost_function.delta_into(zs[-1], activations[-1], Y, self.activations[-1],
                                      deltas[-1], scratch[-1])
        if row_weights is None:
            deltas[-1] *= self.dtype.type(1.0 / X.shape[0])
        else:
            deltas[-1] *= row_weights[:, None]
        for i in reversed(range(L)):  # i = l - 1 for layers l = L, ..., 1
            delta = deltas[i]
            np.add.reduce(delta, axis=0, out=space.nabla_b[i])  # BP3: ∂C/∂b^l_j = δ^l_j (rows summed)
            np.dot(delta.T, space.inputs[i], out=space.nabla_w[i])  # BP4: ∂C/∂w^l_jk = a^(l-1)_k δ^l_j
            if i > 0:
                # BP2: δ^(l-1) = ((w^l)^T δ^l) ⊙ σ'(z^(l-1))
                np.dot(delta, self.weights[i], out=deltas[i - 1])
                self.activations[i - 1].multiply_derivative(
                    zs[i - 1], activations[i], deltas[i - 1], scratch[i - 1])
                if masks is not None:
                    deltas[i - 1] *= masks[i - 1]  # a dropped unit passes no error back
        return space.nabla_b, space.nabla_w

    # -- cost and predictions ---------------------------------------------------------------------

    def cost_value(self, X: Array, Y: Array) -> float:
        """Mean unregularized cost over the rows of checked arrays X and Y."""
        space = self.forward(X)
        return float(np.mean(self.cost_function.value(
            space.zs[-1], space.activations[-1], Y, self.activations[-1])))

    def cost(self, X: Any, Y: Any, lmbda: float = 0.0, n: int | None = None) -> float:
        """Mean cost over the rows of X plus the L2 term (λ / 2n) Σ‖w‖².

        Args:
            X: inputs, shape (m, sizes[0]).
            Y: targets (m, sizes[-1]) or class labels (m,).
            lmbda: the L2 regularization parameter λ (>= 0).
            n: size of the training set in the L2 term; defaults to m.
        """
        X, Y = self.check_XY(X, Y)
        lmbda = check_number("lmbda", lmbda, nonnegative=True)
        n = X.shape[0] if n is None else check_positive_int("n", n)
        return self.cost_value(X, Y) + Regularization(lmbda).penalty(self.weights, n)

    def predict_proba(self, X: Any) -> Array:
        """Class probabilities (m, sizes[-1]), each row summing to 1, column j for ``classes[j]``.

        Softmax outputs are returned as they are. Other outputs (sigmoid: one independent unit per
        class) are normalised, a_j / Σ_k a_k, after negative outputs are set to 0; a row of zeros
        gives the uniform 1 / sizes[-1]. The raw outputs are ``feedforward(X)``.
        """
        return self.probabilities(self.feedforward(X))

    def probabilities(self, outputs: Array) -> Array:
        """``predict_proba`` of rows whose raw outputs (m, sizes[-1]) are already computed."""
        if not self.activations[-1].elementwise and self.activations[-1].outputs_probabilities:
            return outputs
        return normalized_rows(outputs)

    def predict(self, X: Any) -> Array:
        """The class of each row, shape (m,): the index of the most active output unit, or its label
        ``classes[index]`` when the network has classes."""
        index = np.argmax(self.feedforward(X), axis=1)
        return index if self.classes is None else self.classes[index]

    def unsure(self, X: Any, threshold: float = UNSURE_BELOW) -> Array:
        """Whether the network is unsure of each row, bool (m,): the probability of its predicted
        class (``predict_proba``) is below ``threshold`` (``unsure_rows``)."""
        threshold = check_number("threshold", threshold)
        return unsure_rows(self.predict_proba(X), threshold)

    def accuracy(self, X: Any, y: Any) -> float:
        """Fraction of rows whose predicted class equals ``y`` (labels (m,) or one-hot (m, n_out))."""
        X = self.check_X(X)
        y = np.asarray(y)
        labels = np.argmax(self.check_Y(y), axis=1) if y.ndim == 2 else self.check_labels(y)
        check_same_rows("X", X, "y", labels)
        return float(np.mean(np.argmax(self.feedforward(X), axis=1) == labels))

    def copy(self) -> Network:
        """An independent network with copies of the parameters (and of the scaling)."""
        clone = object.__new__(Network)
        clone.__dict__.update(self.__dict__)
        clone.weights = [w.copy() for w in self.weights]
        clone.biases = [b.copy() for b in self.biases]
        clone.training_config = dict(self.training_config)
        clone.classes = None if self.classes is None else self.classes.copy()
        clone.scaling = None if self.scaling is None else self.scaling.astype(self.dtype)
        return clone


def unsure_rows(probabilities: Array, threshold: float = UNSURE_BELOW) -> Array:
    """Whether each row's predicted class has a probability below ``threshold``: bool (m,) of class
    probabilities (m, n_out), as ``predict_proba`` gives them. The one rule of being unsure."""
    return np.max(probabilities, axis=1) < threshold


def normalized_rows(outputs: Array) -> Array:
    """Rows of ``outputs`` with negative entries set to 0, divided by their sum (a new array); a row
    summing to 0 becomes uniform. No division by zero happens, so numpy warns of nothing."""
    result = np.maximum(outputs, 0)
    totals = result.sum(axis=1, keepdims=True)
    empty = totals[:, 0] <= 0
    result[empty] = 1
    totals[empty] = outputs.shape[1]
    result /= totals
    return result


def mean_weights(sample_weight: Array) -> Array:
    """Row weights r_x = s_x / Σ s_x, so that Σ_x r_x ∇C_x is the gradient of the weighted mean
    (all zero when every s_x is 0: such rows teach nothing)."""
    total = sample_weight.sum()
    return sample_weight / total if total > 0 else np.zeros_like(sample_weight)
