"""MLPRegressor: scikit-learn's multi-layer perceptron regressor, trained by deltaprop."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.metrics import r2_score
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import column_or_1d, validate_data

from deltaprop.activations import Activation
from deltaprop.costs import Cost
from deltaprop.sklearn._base import FLOAT_DTYPES, BaseMLP, has_stochastic_solver
from deltaprop.sklearn._losses import Exp, PoissonCost
from deltaprop.sklearn._params import deltaprop_activation, store_params

Array = np.ndarray


class MLPRegressor(RegressorMixin, BaseMLP):
    """Multi-layer perceptron regressor: scikit-learn's ``MLPRegressor``, trained by deltaprop.

    scikit-learn's parameters have its names, meanings and defaults (see its documentation);
    ``loss`` is "squared_error" (identity outputs, ½‖y − a‖²) or "poisson" (exp outputs, half the
    Poisson deviance); ``solver="lbfgs"`` is scipy's L-BFGS-B on the full-batch loss (``_lbfgs``;
    partial_fit is then absent). deltaprop adds:

    Args:
        cost: None (the cost of ``loss``), a name of ``deltaprop.COSTS`` or a ``Cost``.
        output_activation: None (the activation of ``loss``: identity or exp), a name or an
            ``Activation``.
        dropout, l1, dtype, init, validation_data, callbacks: as for ``MLPClassifier``.

    Attributes:
        coefs_: coefs_[i] (n_in, n_out), views of ``network_.weights[i].T``.
        intercepts_: intercepts_[i] (n_out,).
        network_: the trained ``deltaprop.Network``.
        n_iter_, t_, loss_, loss_curve_, best_loss_, validation_scores_, best_validation_score_,
        n_features_in_, feature_names_in_, n_layers_, n_outputs_, out_activation_: as scikit-learn's.
    """

    _parameter_constraints: dict = {
        **BaseMLP._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson"})],
    }

    def __init__(self, loss: str = "squared_error", hidden_layer_sizes: Any = (100,),
                 activation: str = "relu", *, solver: str = "adam", alpha: float = 0.0001,
                 batch_size: int | str = "auto", learning_rate: str = "constant",
                 learning_rate_init: float = 0.001, power_t: float = 0.5, max_iter: int = 200,
                 shuffle: bool = True, random_state: Any = None, tol: float = 1e-4,
                 verbose: bool = False, warm_start: bool = False, momentum: float = 0.9,
                 nesterovs_momentum: bool = True, early_stopping: bool = False,
                 validation_fraction: float = 0.1, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, n_iter_no_change: int = 10, max_fun: int = 15000,
                 cost: str | Cost | None = None, output_activation: str | Activation | None = None,
                 dropout: float = 0.0, l1: float = 0.0, dtype: Any = None,
                 init: str = "glorot_uniform", validation_data: Any = None,
                 callbacks: Any = None) -> None:
        store_params(self, locals())

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """Fit the model to X (n_samples, n_features) and targets y (n_samples,) or
        (n_samples, n_outputs); sample_weight (n_samples,) optional."""
        return self._fit(X, y, sample_weight, incremental=False)

    @available_if(has_stochastic_solver)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """One epoch over X (n_samples, n_features), y; the optimizer's state is kept between
        calls."""
        return self._fit(X, y, sample_weight, incremental=True)

    def _validate_input(self, X: Any, y: Any, incremental: bool,
                        reset: bool) -> tuple[Any, Array, Any]:
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             y_numeric=True, dtype=FLOAT_DTYPES, reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y, y

    def _output_layer(self) -> tuple[str | Activation, str | Cost]:
        poisson = self.loss == "poisson"
        output = self.output_activation or (Exp() if poisson else "linear")
        cost = self.cost or (PoissonCost() if poisson else "quadratic")
        return deltaprop_activation(output), cost

    def _score_outputs(self, outputs: Array, y: Any, sample_weight: Array | None) -> float:
        return float(r2_score(y, _squeezed(outputs), sample_weight=sample_weight))

    def predict(self, X: Any) -> Array:
        """Predicted targets for X (n_samples, n_features): (n_samples,) for one output, else
        (n_samples, n_outputs)."""
        return _squeezed(self._forward(X))


def _squeezed(outputs: Array) -> Array:
    return outputs.ravel() if outputs.shape[1] == 1 else outputs
