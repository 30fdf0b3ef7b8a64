"""MLPClassifier: scikit-learn's multi-layer perceptron classifier, trained by deltaprop."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import _check_partial_fit_first_call, type_of_target, unique_labels
from sklearn.utils.validation import column_or_1d, validate_data

from deltaprop.activations import Activation
from deltaprop.costs import Cost
from deltaprop.sklearn._base import FLOAT_DTYPES, BaseMLP, has_stochastic_solver
from deltaprop.sklearn._params import deltaprop_activation, store_params

Array = np.ndarray


class MLPClassifier(ClassifierMixin, BaseMLP):
    """Multi-layer perceptron classifier: scikit-learn's ``MLPClassifier``, trained by deltaprop.

    scikit-learn's parameters have its names, meanings and defaults (see its documentation),
    ``solver="lbfgs"`` included (scipy's L-BFGS-B on the full-batch loss, ``_lbfgs``; partial_fit
    is then absent, as in scikit-learn). deltaprop adds:

    Args:
        cost: the cost minimized: None (scikit-learn's log loss: "log_likelihood" with softmax
            outputs for multiclass targets, "cross_entropy" with sigmoid outputs for binary and
            multilabel ones), a name of ``deltaprop.COSTS`` or a ``Cost``.
        output_activation: None (scikit-learn's: softmax or logistic), a name ('logistic',
            'sigmoid', 'softmax', ...) or an ``Activation``; predict_proba needs outputs in (0, 1).
        dropout: probability of dropping each hidden unit during training (inverted dropout);
            sgd and adam only, as are ``validation_data`` and ``callbacks``.
        l1: L1 regularization λ₁, the penalty λ₁ Σ|w| / Σs per mini-batch, as alpha's L2.
        dtype: None (float32 for float32 inputs, else float64), "float32" or "float64".
        init: "glorot_uniform" (scikit-learn's, from random_state) or a name of
            ``deltaprop.INITIALIZERS`` ("default", "xavier", "he", "large").
        class_weight: None, "balanced" or {label: weight}: multiplies the sample weights, as in
            scikit-learn's other classifiers (``compute_sample_weight``).
        validation_data: None or (X_val, y_val): scored after every epoch into
            ``validation_scores_``; with early_stopping=True it replaces the held-out fraction.
        callbacks: functions called after each epoch with a dict (epoch, loss, validation_score,
            learning_rate, seconds); one returning True stops training.

    Attributes:
        classes_: the labels (n_classes,), any sortable type.
        coefs_: coefs_[i] (n_in, n_out), views of ``network_.weights[i].T``.
        intercepts_: intercepts_[i] (n_out,).
        network_: the trained ``deltaprop.Network``.
        n_iter_, t_, loss_, loss_curve_, best_loss_, validation_scores_, best_validation_score_,
        n_features_in_, feature_names_in_, n_layers_, n_outputs_, out_activation_: as scikit-learn's.
    """

    _parameter_constraints: dict = {
        **BaseMLP._parameter_constraints,
        "class_weight": [dict, list, StrOptions({"balanced"}), None],
    }

    def __init__(self, hidden_layer_sizes: Any = (100,), activation: str = "relu", *,
                 solver: str = "adam", alpha: float = 0.0001, batch_size: int | str = "auto",
                 learning_rate: str = "constant", learning_rate_init: float = 0.001,
                 power_t: float = 0.5, max_iter: int = 200, shuffle: bool = True,
                 random_state: Any = None, tol: float = 1e-4, verbose: bool = False,
                 warm_start: bool = False, momentum: float = 0.9, nesterovs_momentum: bool = True,
                 early_stopping: bool = False, validation_fraction: float = 0.1, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-8, n_iter_no_change: int = 10,
                 max_fun: int = 15000, cost: str | Cost | None = None,
                 output_activation: str | Activation | None = None, dropout: float = 0.0,
                 l1: float = 0.0, dtype: Any = None, init: str = "glorot_uniform",
                 class_weight: Any = None, validation_data: Any = None,
                 callbacks: Any = None) -> None:
        store_params(self, locals())

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPClassifier:
        """Fit the model to X (n_samples, n_features) and labels y (n_samples,), or a multilabel
        indicator matrix (n_samples, n_labels); sample_weight (n_samples,) optional."""
        return self._fit(X, y, sample_weight, incremental=False)

    @available_if(has_stochastic_solver)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None,
                    classes: Any = None) -> MLPClassifier:
        """One epoch over X (n_samples, n_features), y (n_samples,); the optimizer's state is kept
        between calls. ``classes`` (all labels) is required on the first call. The argument order
        is scikit-learn 1.9's MLPClassifier.partial_fit's, so positional calls mean the same."""
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, sample_weight, incremental=True)

    def _validate_input(self, X: Any, y: Any, incremental: bool,
                        reset: bool) -> tuple[Any, Array, Any]:
        """scikit-learn's checks: X floats, labels binarized (classes_ set on a first fit)."""
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             dtype=FLOAT_DTYPES, reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in the "
                        f"previous call to fit. Previously got {self.classes_}, `y` has {classes}")
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has "
                                 f"{self.classes_}. 'y' has {classes}.")
        return X, self._label_binarizer.transform(y).astype(bool), y

    def _output_layer(self) -> tuple[str | Activation, str | Cost]:
        softmax = self._label_binarizer.y_type_ == "multiclass"
        output = deltaprop_activation(self.output_activation or ("softmax" if softmax else "sigmoid"))
        if self.cost is not None:
            return output, self.cost
        name = output if isinstance(output, str) else output.name
        return output, "log_likelihood" if name == "softmax" else "cross_entropy"

    def _class_weights(self, y: Any, incremental: bool) -> Array | None:
        if self.class_weight is None:
            return None
        if incremental and isinstance(self.class_weight, str):
            raise ValueError(
                f"class_weight={self.class_weight!r} is not supported for partial_fit: compute the "
                f"weights once, e.g. dict(zip(classes, compute_class_weight('balanced', "
                f"classes=classes, y=y_sample))), and pass them as class_weight")
        return compute_sample_weight(self.class_weight, y)

    def _score_outputs(self, outputs: Array, y: Any, sample_weight: Array | None) -> float:
        return float(accuracy_score(y, self._labels(outputs), sample_weight=sample_weight))

    def _labels(self, outputs: Array) -> Any:
        if self.n_outputs_ == 1:
            outputs = outputs.ravel()
        return self._label_binarizer.inverse_transform(outputs)

    def predict(self, X: Any) -> Any:
        """Labels of the rows of X (n_samples, n_features): shape (n_samples,), or
        (n_samples, n_labels) for multilabel models."""
        return self._labels(self._forward(X))

    def predict_proba(self, X: Any) -> Array:
        """Class probabilities (n_samples, n_classes) in the order of ``classes_``; each row sums
        to 1 (multilabel models: each label's independent sigmoid)."""
        outputs = self._forward(X)
        if self.n_outputs_ == 1:
            p = outputs.ravel()
            return np.vstack([1 - p, p]).T
        if self._label_binarizer.y_type_ == "multiclass" and self.network_.activations[-1].elementwise:
            return outputs / outputs.sum(axis=1, keepdims=True)  # not softmax: normalized
        return outputs

    def predict_log_proba(self, X: Any) -> Array:
        """log of ``predict_proba(X)``, shape (n_samples, n_classes)."""
        proba = self.predict_proba(X)
        return np.log(proba, out=proba)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
