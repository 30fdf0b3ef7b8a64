"""What MLPClassifier and MLPRegressor share: fit's steps, the epochs' bookkeeping, attributes.

``_fit`` follows scikit-learn's ``BaseMultilayerPerceptron._fit`` step for step, drawing from the
RandomState in the same order (initial parameters, validation split, each epoch's shuffle), so that
with the same ``random_state`` the two estimators make the same draws; then ``_fit_stochastic``
(sgd, adam: deltaprop's ``Trainer``) or ``_fit_lbfgs`` (``_lbfgs.fit_lbfgs``, scipy's L-BFGS-B).
The network is a ``deltaprop.Network`` (``network_``) whose weights[i] (n_out, n_in) are the
transposes of scikit-learn's ``coefs_[i]`` (n_in, n_out); ``coefs_`` and ``intercepts_`` are views
of them, so editing one edits the other, and assigning them (or one item) copies into the network.
Assigned before any fit, they are kept as given, and partial_fit (or a warm-started fit) trains on
from them, as in scikit-learn.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, is_classifier
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from deltaprop._validation import check_dtype
from deltaprop.activations import Activation
from deltaprop.costs import Cost
from deltaprop.network import Network
from deltaprop.options import TrainingConfig
from deltaprop.sklearn._init import initial_parameters
from deltaprop.sklearn._lbfgs import check_lbfgs_parameters, fit_lbfgs
from deltaprop.sklearn._params import (
    HIDDEN_ACTIVATIONS,
    PARAMETER_CONSTRAINTS,
    STOCHASTIC_SOLVERS,
    sklearn_name,
)
from deltaprop.sklearn._training import EstimatorHooks, solver_optimizer
from deltaprop.trainer import Trainer
from deltaprop.training_data import TrainingData

Array = np.ndarray
FLOAT_DTYPES = (np.float64, np.float32)
Validation = tuple[Array, Any, Array | None] | None  # (X, y, sample_weight) scored each epoch
STOPPING_STATE = ("_best_parameters", "loss_curve_", "_no_improvement_count", "validation_scores_",
                  "best_validation_score_", "best_loss_")
"""What the stochastic solvers keep between epochs (scikit-learn keeps none of it for lbfgs)."""
GIVEN = {"coefs_": "_given_coefs", "intercepts_": "_given_intercepts"}
"""Where ``coefs_`` and ``intercepts_`` assigned before any fit wait for it."""


def as_dense(X: Any, dtype: np.dtype) -> Array:
    """Checked inputs as a C-contiguous array of ``dtype`` (sparse matrices are densified)."""
    if sparse.issparse(X):
        X = X.toarray()
    return np.ascontiguousarray(X, dtype=dtype)


def has_stochastic_solver(estimator: BaseMLP) -> bool:
    """``available_if``'s test of partial_fit, scikit-learn's ``_check_solver``: sgd and adam train
    one epoch per call, lbfgs has no such step (``hasattr(estimator, "partial_fit")`` is False)."""
    if estimator.solver not in STOCHASTIC_SOLVERS:
        raise AttributeError(f"partial_fit is only available for stochastic optimizers. "
                             f"{estimator.solver} is not stochastic.")
    return True


class BaseMLP(BaseEstimator):
    """The shared part of deltaprop's MLPClassifier and MLPRegressor (not to be used directly)."""

    _parameter_constraints: dict = dict(PARAMETER_CONSTRAINTS)

    # -- what the subclasses say ------------------------------------------------------------------

    def _validate_input(self, X: Any, y: Any, incremental: bool,
                        reset: bool) -> tuple[Any, Array, Any]:
        """(X, targets (n,) or (n, n_out), targets as given for class weights)."""
        raise NotImplementedError

    def _output_layer(self) -> tuple[str | Activation, str | Cost]:
        """The default output activation and cost for the targets seen by ``_validate_input``."""
        raise NotImplementedError

    def _score_outputs(self, outputs: Array, y: Any, sample_weight: Array | None) -> float:
        """The validation score (accuracy, R²) of network outputs (m, n_out) against ``y``."""
        raise NotImplementedError

    def _class_weights(self, y: Any, incremental: bool) -> Array | None:
        """Per-row weights from ``class_weight`` (classifiers), or None."""
        return None

    # -- fit ---------------------------------------------------------------------------------------

    def _fit(self, X: Any, y: Any, sample_weight: Any = None, incremental: bool = False) -> BaseMLP:
        """scikit-learn's ``_fit``: X (n, n_features), y (n,) or (n, k), sample_weight (n,) or None."""
        if self.solver == "lbfgs":
            check_lbfgs_parameters(self)
        hidden = self._hidden_layer_sizes()
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, y, y_given = self._validate_input(X, y, incremental, reset=first_pass)
        sample_weight = self._sample_weight(sample_weight, X, y_given, incremental)
        if y.ndim == 1:
            y = y.reshape((-1, 1))
        self.n_outputs_ = y.shape[1]
        layer_units = [X.shape[1], *hidden, self.n_outputs_]
        random_state = check_random_state(self.random_state)
        if first_pass:
            self._initialize(layer_units, X.dtype, random_state)
        else:
            self._continue(layer_units, X.dtype)
        if self.solver == "lbfgs":
            fit_lbfgs(self, as_dense(X, np.float64), y, sample_weight)
        else:
            self._fit_stochastic(as_dense(X, self.network_.dtype), y, sample_weight, random_state,
                                 incremental)
        if not all(np.isfinite(p).all() for p in self.network_.weights + self.network_.biases):
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may contain large "
                "values and need to be preprocessed.")
        return self

    def _hidden_layer_sizes(self) -> list[int]:
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
        if np.any(np.array(sizes) <= 0):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
        return [int(size) for size in sizes]

    def _sample_weight(self, sample_weight: Any, X: Any, y: Any, incremental: bool) -> Array | None:
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, ensure_non_negative=True)
        class_weights = self._class_weights(y, incremental)
        if class_weights is None:
            return sample_weight
        return class_weights if sample_weight is None else sample_weight * class_weights

    def _initialize(self, layer_units: list[int], x_dtype: np.dtype,
                    random_state: np.random.RandomState) -> None:
        """scikit-learn's ``_initialize``: counters, the network (drawn from ``random_state``),
        and, for sgd and adam, the stopping state (for lbfgs, none: a previous fit's is dropped)."""
        self.n_iter_, self.t_ = 0, 0
        dtype = self._dtype(x_dtype)
        weights, biases = initial_parameters(self.init, layer_units, self.activation, random_state,
                                             dtype)
        for name in GIVEN.values():  # parameters assigned before this fit are replaced
            self.__dict__.pop(name, None)
        self._set_network(weights, biases, dtype)
        for name, value in self._stopping_state().items():
            if self.solver in STOCHASTIC_SOLVERS:
                setattr(self, name, value)
            else:
                self.__dict__.pop(name, None)

    def _dtype(self, x_dtype: np.dtype) -> np.dtype:
        """The network's dtype: the ``dtype`` parameter, or the inputs' (float32 or float64)."""
        return check_dtype(x_dtype if self.dtype is None else self.dtype)

    def _set_network(self, weights: list[Any], biases: list[Any], dtype: np.dtype) -> None:
        """``network_`` around weights[i] (n_out, n_in) and biases[i] (n_out,), with the hidden
        activation and the output layer of the targets; ``n_layers_`` and ``out_activation_``."""
        output, cost = self._output_layer()
        self.network_ = Network.from_parameters(
            weights, biases, activation=HIDDEN_ACTIVATIONS[self.activation], output_activation=output,
            cost=cost, dtype=dtype)
        self.n_layers_ = len(self.network_.sizes)
        self.out_activation_ = sklearn_name(self.network_.activations[-1])

    def _stopping_state(self) -> dict[str, Any]:
        """``STOPPING_STATE`` at the start of training with sgd or adam."""
        monitored = self.early_stopping or self.validation_data is not None
        return {"_best_parameters": self._parameters_copy(), "loss_curve_": [],
                "_no_improvement_count": 0, "validation_scores_": [] if monitored else None,
                "best_validation_score_": -np.inf if monitored else None,
                "best_loss_": None if self.early_stopping else np.inf}

    def _continue(self, layer_units: list[int], x_dtype: np.dtype) -> None:
        """Train on from the present parameters (warm_start, partial_fit): the network's, or
        ``coefs_`` and ``intercepts_`` assigned before any fit; their shapes must fit the data."""
        if "network_" not in self.__dict__:
            self._adopt_given_parameters(layer_units, x_dtype)
        elif list(self.network_.sizes) != layer_units:
            raise ValueError(
                f"the fitted network has layer sizes {list(self.network_.sizes)}, but these data "
                f"and hidden_layer_sizes need {layer_units}; fit with warm_start=False to start anew")

    def _adopt_given_parameters(self, layer_units: list[int], x_dtype: np.dtype) -> None:
        """``network_`` from the ``coefs_`` and ``intercepts_`` assigned before any fit (counters
        not assigned start at 0)."""
        coefs, intercepts = (self.__dict__.get(name) for name in GIVEN.values())
        shapes = list(zip(layer_units[:-1], layer_units[1:], strict=True))
        given = [[np.shape(c) for c in coefs or ()], [np.shape(b) for b in intercepts or ()]]
        if given != [shapes, [(n_out,) for _, n_out in shapes]]:
            raise ValueError(
                f"coefs_ and intercepts_ assigned before fit must have shapes {shapes} and "
                f"{[(n_out,) for _, n_out in shapes]} for these data and hidden_layer_sizes, got "
                f"{given[0]} and {given[1]}")
        self._set_network([np.asarray(c).T for c in coefs], list(intercepts), self._dtype(x_dtype))
        for name in GIVEN.values():
            del self.__dict__[name]
        for name in ("n_iter_", "t_"):
            self.__dict__.setdefault(name, 0)

    def _parameters_copy(self) -> list[Array]:
        return [p.copy() for p in self.network_.weights + self.network_.biases]

    def _fit_stochastic(self, X: Array, y: Array, sample_weight: Array | None,
                        random_state: np.random.RandomState, incremental: bool) -> None:
        """scikit-learn's ``_fit_stochastic``: the optimizer (kept across partial_fit calls), the
        validation split, the epochs; with early stopping the best parameters are restored. The
        stopping state missing (training on after lbfgs, or from parameters assigned by hand)
        starts anew."""
        if not incremental or not hasattr(self, "_optimizer"):
            self._optimizer = solver_optimizer(self.solver, self.get_params())
        if not all(name in self.__dict__ for name in STOPPING_STATE):  # after lbfgs, or by hand
            for name, value in self._stopping_state().items():
                self.__dict__.setdefault(name, value)
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        (X, y, sample_weight), validation = self._split(X, y, sample_weight, random_state)
        trainer = self._trainer(X, y.astype(X.dtype), sample_weight, random_state)
        trainer.hooks = EstimatorHooks(self, trainer, validation, random_state, incremental)
        self.n_iter_ = 0
        try:
            trainer.run()
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.", stacklevel=2)
        if self.early_stopping:
            for target, best in zip(self.network_.weights + self.network_.biases,
                                    self._best_parameters, strict=True):
                np.copyto(target, best)

    def _split(self, X: Array, y: Array, sample_weight: Array | None,
               random_state: np.random.RandomState) -> tuple[tuple[Any, Any, Any], Validation]:
        """(training rows, validation rows): the held-out fraction scikit-learn draws for early
        stopping, or the rows of ``validation_data`` (all rows train), or no validation."""
        if self.validation_data is not None:
            return (X, y, sample_weight), self._validation_data()
        if not self.early_stopping:
            return (X, y, sample_weight), None
        stratify = y if is_classifier(self) and self.n_outputs_ == 1 else None
        arrays = (X, y) if sample_weight is None else (X, y, sample_weight)
        parts = train_test_split(*arrays, random_state=random_state,
                                 test_size=self.validation_fraction, stratify=stratify)
        X_train, X_val, y_train, y_val = parts[:4]
        sw_train, sw_val = (None, None) if sample_weight is None else parts[4:]
        if X_val.shape[0] < 2:
            raise ValueError("The validation set is too small. Increase 'validation_fraction' "
                             "or the size of your dataset.")
        if is_classifier(self):
            y_val = self._label_binarizer.inverse_transform(y_val)
        return (X_train, y_train, sw_train), (X_val, y_val, sw_val)

    def _validation_data(self) -> Validation:
        """The ``validation_data`` pair (X, y), checked: X in the network's dtype."""
        data = self.validation_data
        if len(data) != 2:
            raise ValueError(f"validation_data must be a pair (X, y), got {len(data)} items")
        X = validate_data(self, data[0], accept_sparse=["csr", "csc"], reset=False,
                          dtype=FLOAT_DTYPES)
        y = np.asarray(data[1])
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"validation_data has {X.shape[0]} rows of X but {y.shape[0]} of y")
        return as_dense(X, self.network_.dtype), y, None

    def _trainer(self, X: Array, Y: Array, sample_weight: Array | None,
                 random_state: np.random.RandomState) -> Trainer:
        """deltaprop's trainer of these rows: X (n, n_in), Y (n, n_out), weights (n,) or None."""
        n = X.shape[0]
        if self.batch_size == "auto":
            batch_size = min(200, n)
        else:
            if self.batch_size > n:
                warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is "
                              "going to be clipped", stacklevel=4)
            batch_size = int(np.clip(self.batch_size, 1, n))
        seed = int(random_state.randint(np.iinfo(np.int32).max)) if self.dropout else 0
        config = _config(batch_size, float(self.dropout), seed, self.solver, self.max_iter)
        data = TrainingData(self.network_, X, Y, sample_weight, "training")
        return Trainer(self.network_, data, config, optimizer=self._optimizer)

    def _validation_score(self, X: Array, y: Any, sample_weight: Array | None) -> float:
        """The score ``EstimatorHooks.end_epoch`` records (nan when the outputs are not finite)."""
        outputs = self._outputs(X)
        if not np.isfinite(outputs).all():
            return np.nan
        score = self._score_outputs(outputs, y, sample_weight)
        if self.verbose:
            print(f"Validation score: {score:f}")
        return score

    def _update_no_improvement_count(self, score: float | None) -> None:
        """scikit-learn's rule: with early stopping the validation score must rise by tol (the
        best parameters are kept), else the training loss must fall by tol. A score of
        ``validation_data`` without early stopping is recorded only."""
        if score is not None:
            if self.validation_scores_ is None:  # monitoring began in a warm start
                self.validation_scores_, self.best_validation_score_ = [], -np.inf
            previous_best = self.best_validation_score_
            self.validation_scores_.append(score)
            if score > previous_best:
                self.best_validation_score_ = score
                if self.early_stopping:
                    self._best_parameters = self._parameters_copy()
        if self.early_stopping:
            stalled = score < previous_best + self.tol
        else:
            if self.best_loss_ is None:  # early stopping was on in the fit this one continues
                self.best_loss_ = np.inf
            stalled = self.loss_curve_[-1] > self.best_loss_ - self.tol
            self.best_loss_ = min(self.best_loss_, self.loss_curve_[-1])
        self._no_improvement_count = self._no_improvement_count + 1 if stalled else 0

    # -- predictions and attributes ----------------------------------------------------------------

    def _forward(self, X: Any) -> Array:
        """Network outputs (m, n_outputs_) for new inputs X (m, n_features_in_), checked."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False, dtype=FLOAT_DTYPES)
        return self._outputs(as_dense(X, self.network_.dtype))

    def _outputs(self, X: Array) -> Array:
        """Network outputs for checked rows X of the network's dtype (no dropout)."""
        return self.network_.forward(X).activations[-1]

    @property
    def coefs_(self) -> list[Array]:
        """Weights in scikit-learn's layout: coefs_[i] (n_in, n_out), views of network_.weights[i].T
        (``LayerArrays``); before any fit, the list assigned, if any."""
        return self._layer_arrays("coefs_")

    @coefs_.setter
    def coefs_(self, values: list[Any]) -> None:
        self._assign_layer_arrays("coefs_", values)

    @property
    def intercepts_(self) -> list[Array]:
        """Biases: intercepts_[i] (n_out,), the arrays of network_.biases (``LayerArrays``); before
        any fit, the list assigned, if any."""
        return self._layer_arrays("intercepts_")

    @intercepts_.setter
    def intercepts_(self, values: list[Any]) -> None:
        self._assign_layer_arrays("intercepts_", values)

    def _layer_arrays(self, name: str) -> list[Any]:
        """``coefs_`` or ``intercepts_``: views of the network's arrays, or the list assigned before
        any fit; AttributeError when there is neither."""
        net = self.__dict__.get("network_")
        if net is not None:
            return LayerArrays(net, name)
        try:
            return self.__dict__[GIVEN[name]]
        except KeyError:
            raise AttributeError(f"{name} is set by fit; this estimator is not fitted yet") from None

    def _assign_layer_arrays(self, name: str, values: list[Any]) -> None:
        """Copy ``values`` into the network (same shapes), or before any fit keep the list itself:
        scikit-learn's code sets ``coefs_ = [0] * 2``, then each item, then calls partial_fit."""
        net = self.__dict__.get("network_")
        if net is None:
            self.__dict__[GIVEN[name]] = values
        else:
            LayerArrays(net, name).assign(values)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # accepted, and densified: the engine is dense
        return tags


@functools.lru_cache(maxsize=32)
def _config(batch_size: int, dropout: float, seed: int, solver: str, epochs: int) -> TrainingConfig:
    """The trainer's configuration (made once per setting: its checks cost a small partial_fit 7%)."""
    return TrainingConfig(batch_size=batch_size, dropout=dropout, seed=seed, epochs=epochs,
                          optimizer=solver, regularization_scale="mini_batch")


class LayerArrays(list):
    """A fitted estimator's ``coefs_`` (``network.weights[i].T``, (n_in, n_out)) or ``intercepts_``
    (``network.biases[i]``, (n_out,)): a list of views of the network's arrays. Assigning an item
    copies into the network (``est.coefs_[i] = array``, same shape), as in scikit-learn."""

    def __init__(self, net: Network, name: str) -> None:
        self.name, self.targets = name, net.weights if name == "coefs_" else net.biases
        super().__init__(self._layout(t) for t in self.targets)

    def _layout(self, array: Array) -> Array:
        """An array of the network's layout in this list's, or back (coefs_: the transpose)."""
        return array.T if self.name == "coefs_" else array

    def __setitem__(self, index: Any, value: Any) -> None:
        if not isinstance(index, int | np.integer):
            raise TypeError(f"{self.name}[i] = array takes one index; assign {self.name} = [...] to "
                            f"replace every layer's, got index {index!r}")
        value, expected = np.asarray(value), self[index].shape
        if value.shape != expected:
            raise ValueError(f"{self.name}[{index}] must have shape {expected}, got {value.shape}")
        np.copyto(self.targets[index], self._layout(value))

    def assign(self, values: Any) -> None:
        """Copy ``values``, one array per layer in this list's layout, into the network's arrays;
        every shape is checked before anything is copied."""
        values = [np.asarray(v) for v in values]
        expected, got = [a.shape for a in self], [v.shape for v in values]
        if got != expected:
            raise ValueError(f"{self.name} must be {len(expected)} arrays of shapes {expected} (one "
                             f"per layer), got shapes {got}")
        for target, value in zip(self.targets, values, strict=True):
            np.copyto(target, self._layout(value))
