"""solver="lbfgs": scikit-learn's ``_fit_lbfgs`` on deltaprop's one backpropagation.

scipy's L-BFGS-B minimizes the full-batch loss of scikit-learn's ``_loss_grad_lbfgs``

    J(θ) = Σ_x s_x C_x / Σ_x s_x + ½ α ‖W‖² / Σ_x s_x (+ λ₁ ‖W‖₁ / Σ_x s_x, deltaprop's ``l1``)

(s_x = 1 without sample weights, so Σ s = n), with C_x scikit-learn's data loss (``_losses``), over
θ, the parameters packed into one vector in scikit-learn's order: each ``coefs_[i]`` (n_in, n_out)
raveled in C order, then each ``intercepts_[i]`` (n_out,). deltaprop's ``weights[i]`` (n_out, n_in)
are their transposes, packed accordingly, so L-BFGS-B sees the vectors scikit-learn's sees and takes
the same path. ∇J is ``Network.gradient`` with row weights r_x = s_x / Σ s (BP1-BP4) plus
``Regularization.add_gradient``: scikit-learn's ``_backprop``. The data term of the squared error
is averaged over the outputs while its gradient is that of ½‖y − a‖², as in scikit-learn.

scipy's L-BFGS-B works in float64, so J and ∇J are computed in float64 whatever the network's dtype
(scikit-learn's are: its float32 coefs_ meet float64 vectors); the result is stored in the network.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import scipy
from numpy.lib import NumpyVersion
from scipy.optimize import minimize
from sklearn.exceptions import ConvergenceWarning

from deltaprop.network import Network, mean_weights
from deltaprop.regularization import Regularization
from deltaprop.sklearn._losses import batch_loss, loss_kind
from deltaprop.workspace import Workspace

if TYPE_CHECKING:
    from deltaprop.sklearn._base import BaseMLP

Array = np.ndarray
SCIPY_TAKES_IPRINT = NumpyVersion(scipy.__version__) < "1.15.0"
"""scipy 1.15 deprecated L-BFGS-B's ``iprint``: scikit-learn passes it to older versions only."""


def check_lbfgs_parameters(estimator: BaseMLP) -> None:
    """Refuse deltaprop's per-epoch parameters, which a full-batch quasi-Newton method cannot honour."""
    per_epoch = {"dropout": estimator.dropout != 0, "callbacks": bool(estimator.callbacks),
                 "validation_data": estimator.validation_data is not None}
    given = [name for name, is_set in per_epoch.items() if is_set]
    if given:
        raise ValueError(
            f"{', '.join(given)} cannot be used with solver='lbfgs', which minimizes the full-batch "
            f"loss without epochs: use solver='adam' or solver='sgd'")


def pack(weights: list[Array], biases: list[Array]) -> Array:
    """θ (n_parameters,) float64: each weights[i].T (scikit-learn's coefs_[i]) raveled, then the
    biases; ``weights[i]`` (n_out, n_in), ``biases[i]`` (n_out,)."""
    return np.concatenate([w.T.ravel() for w in weights] + [b.ravel() for b in biases]).astype(
        np.float64, copy=False)


def unpack(theta: Array, weights: list[Array], biases: list[Array]) -> None:
    """Copy θ (n_parameters,) into the arrays ``weights`` (n_out, n_in) and ``biases`` (n_out,),
    in place (cast to their dtype): ``pack``'s inverse."""
    start = 0
    for w in weights:
        n_out, n_in = w.shape
        np.copyto(w, theta[start:start + n_in * n_out].reshape(n_in, n_out).T, casting="same_kind")
        start += n_in * n_out
    for b in biases:
        np.copyto(b, theta[start:start + b.size], casting="same_kind")
        start += b.size


class Objective:
    """J(θ) and ∇J(θ) of ``net``'s architecture, float64, on rows X (n, n_in), targets Y (n, n_out)
    and sample weights (n,) or None; ``regularization``: α (and λ₁) of the estimator."""

    def __init__(self, net: Network, X: Array, Y: Array, sample_weight: Array | None,
                 regularization: Regularization) -> None:
        self.net = Network.from_parameters(
            net.weights, net.biases, activation=list(net.activations), cost=net.cost_function,
            dtype=np.float64)  # the network's own arrays when it is float64
        self.X, self.Y = X, Y
        self.sample_weight = None if sample_weight is None else sample_weight.astype(np.float64)
        self.row_weights = None if sample_weight is None else mean_weights(self.sample_weight)
        self.weight_sum = float(X.shape[0] if sample_weight is None else self.sample_weight.sum())
        if self.weight_sum <= 0:
            raise ValueError("sample_weight sums to 0: solver='lbfgs' has no loss to minimize")
        self.regularization = regularization
        self.kind = loss_kind(net.cost_function, net.activations[-1])
        self.workspace = Workspace(net.sizes, np.float64, X.shape[0])
        self.scratch = [np.empty_like(w) for w in self.net.weights]

    def __call__(self, theta: Array) -> tuple[float, Array]:
        """(J(θ), ∇J(θ) (n_parameters,)): one forward and one backward pass over all rows."""
        net, space = self.net, self.workspace
        unpack(theta, net.weights, net.biases)
        nabla_b, nabla_w = net.gradient(self.X, self.Y, self.row_weights, workspace=space)
        loss = batch_loss(self.kind, net.cost_function, net.activations[-1], space.zs[-1],
                          space.activations[-1], self.Y, self.sample_weight)
        loss += self.regularization.penalty(net.weights, self.weight_sum)
        for w, grad, scratch in zip(net.weights, nabla_w, self.scratch, strict=True):
            self.regularization.add_gradient(w, grad, self.weight_sum, scratch)
        return loss, pack(nabla_w, nabla_b)  # a new vector: scipy keeps the previous gradient


def fit_lbfgs(estimator: BaseMLP, X: Array, Y: Array, sample_weight: Array | None) -> None:
    """scikit-learn's ``_fit_lbfgs``: minimize J from the network's parameters, then set them to the
    minimizer; sets ``n_iter_`` and ``loss_``. X (n, n_in) float64, Y (n, n_out), weights (n,)."""
    net = estimator.network_
    objective = Objective(net, X, Y.astype(np.float64), sample_weight,
                          Regularization(estimator.alpha, estimator.l1))
    options = {"maxfun": estimator.max_fun, "maxiter": estimator.max_iter, "gtol": estimator.tol}
    if SCIPY_TAKES_IPRINT:
        options["iprint"] = 1 if estimator.verbose else -1
    result = minimize(objective, pack(net.weights, net.biases), method="L-BFGS-B", jac=True,
                      options=options)
    estimator.n_iter_ = checked_iterations(result, estimator.max_iter)
    estimator.loss_ = float(result.fun)
    unpack(result.x, net.weights, net.biases)


def checked_iterations(result: scipy.optimize.OptimizeResult, max_iter: int) -> int:
    """The iterations L-BFGS-B made (at most ``max_iter``), with scikit-learn's ConvergenceWarning
    (``_check_optimize_result``'s text) when it stopped without converging."""
    n_iter = min(result.nit, max_iter)
    if result.status != 0:
        message = (f"lbfgs failed to converge after {n_iter} iteration(s) (status={result.status}):"
                   f"\n{result.message}\n")
        if n_iter == max_iter:
            message += ("\nIncrease the number of iterations to improve the convergence "
                        f"(max_iter={max_iter}).")
        message += ("\nYou might also want to scale the data as shown in:\n"
                    "    https://scikit-learn.org/stable/modules/preprocessing.html")
        warnings.warn(message, ConvergenceWarning, stacklevel=6)  # at the caller of fit
    return n_iter
