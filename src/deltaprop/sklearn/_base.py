"""What MLPClassifier and MLPRegressor share: fit's steps, the epochs' bookkeeping, attributes.

``_fit`` follows scikit-learn's ``BaseMultilayerPerceptron._fit`` and ``_fit_stochastic`` step for
step, drawing from the RandomState in the same order (initial parameters, validation split, each
epoch's shuffle), so that with the same ``random_state`` the two estimators make the same draws.
The network is a ``deltaprop.Network`` (``network_``) whose weights[i] (n_out, n_in) are the
transposes of scikit-learn's ``coefs_[i]`` (n_in, n_out); ``coefs_`` and ``intercepts_`` are views
of them, so editing one edits the other.
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
from deltaprop.monitoring import Monitor
from deltaprop.network import Network
from deltaprop.options import TrainingConfig
from deltaprop.sklearn._init import initial_parameters
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


def as_dense(X: Any, dtype: np.dtype) -> Array:
    """Checked inputs as a C-contiguous array of ``dtype`` (sparse matrices are densified)."""
    if sparse.issparse(X):
        X = X.toarray()
    return np.ascontiguousarray(X, dtype=dtype)


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
        """scikit-learn's ``_fit`` for the stochastic solvers: X (n, n_features), y (n,) or (n, k)."""
        if self.solver not in STOCHASTIC_SOLVERS:
            raise ValueError(
                f"solver={self.solver!r} is not supported by deltaprop.sklearn, which trains by "
                f"mini-batches: use solver='adam' (the default) or solver='sgd'")
        hidden = self._hidden_layer_sizes()
        first_pass = not hasattr(self, "network_") or (not self.warm_start and not incremental)
        X, y, y_given = self._validate_input(X, y, incremental, reset=first_pass)
        sample_weight = self._sample_weight(sample_weight, X, y_given, incremental)
        if y.ndim == 1:
            y = y.reshape((-1, 1))
        self.n_outputs_ = y.shape[1]
        layer_units = [X.shape[1], *hidden, self.n_outputs_]
        random_state = check_random_state(self.random_state)
        if first_pass:
            self._initialize(layer_units, X.dtype, random_state)
        elif list(self.network_.sizes) != layer_units:
            raise ValueError(
                f"the fitted network has layer sizes {list(self.network_.sizes)}, but these data "
                f"and hidden_layer_sizes need {layer_units}; fit with warm_start=False to start anew")
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
        and the stopping state."""
        self.n_iter_, self.t_ = 0, 0
        self.n_layers_ = len(layer_units)
        dtype = check_dtype(x_dtype if self.dtype is None else self.dtype)
        output, cost = self._output_layer()
        weights, biases = initial_parameters(self.init, layer_units, self.activation, random_state,
                                             dtype)
        self.network_ = Network.from_parameters(
            weights, biases, activation=HIDDEN_ACTIVATIONS[self.activation], output_activation=output,
            cost=cost, dtype=dtype)
        self.out_activation_ = sklearn_name(self.network_.activations[-1])
        self._best_parameters = self._parameters_copy()
        self.loss_curve_: list[float] = []
        self._no_improvement_count = 0
        monitored = self.early_stopping or self.validation_data is not None
        self.validation_scores_: list[float] | None = [] if monitored else None
        self.best_validation_score_ = -np.inf if monitored else None
        self.best_loss_ = None if self.early_stopping else np.inf

    def _parameters_copy(self) -> list[Array]:
        return [p.copy() for p in self.network_.weights + self.network_.biases]

    def _fit_stochastic(self, X: Array, y: Array, sample_weight: Array | None,
                        random_state: np.random.RandomState, incremental: bool) -> None:
        """scikit-learn's ``_fit_stochastic``: the optimizer (kept across partial_fit calls), the
        validation split, the epochs; with early stopping the best parameters are restored."""
        if not incremental or not hasattr(self, "_optimizer"):
            self._optimizer = solver_optimizer(self.solver, self.get_params())
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
            _assign(self.network_.weights + self.network_.biases, self._best_parameters, "best")

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
        return Trainer(self.network_, data, config, Monitor(self.network_, {}), self._optimizer)

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
        """Weights in scikit-learn's layout: coefs_[i] (n_in, n_out), views of network_.weights."""
        return [w.T for w in self._network("coefs_").weights]

    @coefs_.setter
    def coefs_(self, values: list[Any]) -> None:
        _assign(self._network("coefs_").weights, [np.asarray(v).T for v in values], "coefs_")

    @property
    def intercepts_(self) -> list[Array]:
        """Biases: intercepts_[i] (n_out,), the arrays of network_.biases."""
        return list(self._network("intercepts_").biases)

    @intercepts_.setter
    def intercepts_(self, values: list[Any]) -> None:
        _assign(self._network("intercepts_").biases, [np.asarray(v) for v in values], "intercepts_")

    def _network(self, attribute: str) -> Network:
        try:
            return self.__dict__["network_"]
        except KeyError:
            raise AttributeError(f"{attribute} is set by fit; this estimator is not fitted yet") from None

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # accepted, and densified: the engine is dense
        return tags


@functools.lru_cache(maxsize=32)
def _config(batch_size: int, dropout: float, seed: int, solver: str, epochs: int) -> TrainingConfig:
    """The trainer's configuration (made once per setting: its checks cost a small partial_fit 7%)."""
    return TrainingConfig(batch_size=batch_size, dropout=dropout, seed=seed, epochs=epochs,
                          optimizer=solver, regularization_scale="mini_batch")


def _assign(targets: list[Array], values: list[Array], name: str) -> None:
    """Copy ``values`` into the network's arrays ``targets`` (shapes must match)."""
    if [v.shape for v in values] != [t.shape for t in targets]:
        shapes = [t.shape for t in targets]
        raise ValueError(f"{name} must be {len(targets)} arrays of shapes {shapes} (transposed "
                         f"for coefs_), got shapes {[v.shape for v in values]}")
    for target, value in zip(targets, values, strict=True):
        np.copyto(target, value)
