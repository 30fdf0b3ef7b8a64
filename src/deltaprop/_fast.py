"""The training loop's fast path: the readable mini-batch step, fused and allocation-free.

``Network.gradient`` followed by ``SGD.step`` is the readable form of one step of mini-batch SGD and
stays the reference. With batches of 10 rows an epoch of MNIST is 5,000 such steps, and their cost is
the numpy calls, not the arithmetic: every temporary array, every ``float()``, every transposed copy
counts. This module runs the same arithmetic (equal up to rounding: ``tests/test_fast.py``) for a
whole epoch with as few calls as the equations allow:

- the learning rate is folded into the output error once, δ̃^L = (η/m) δ^L; BP2 is linear in δ, so
  every layer's δ̃^l carries the factor and BP3/BP4 yield η ∂C/∂b and η ∂C/∂w directly;
- BP4 and the weight update are one GEMM with β ≠ 0, (w^l)ᵀ ← (1 − ηλ/n) (w^l)ᵀ − (a^(l-1))ᵀ δ̃^l, so
  ∇_w C is never materialized and w is read and written once (momentum: the same for the velocity);
- z, a, δ and scratch arrays are allocated once per training run, for the batch size (the short last
  batch uses their leading rows, which are contiguous too), and every numpy call writes with
  ``out=``; sigmoid is one ufunc (``scipy.special.expit``) in float64 and for small float32 arrays;
- arrays are row-major (m, n), one row per example, as in ``Network``; BLAS (Fortran order) sees a
  row-major matrix as its transpose, so every product runs on the arrays in place, never on a copy;
- the learning speed ‖∂C/∂b^l‖ of each mini-batch is written to a small table and reduced every
  ``SPEED_CHUNK`` mini-batches (one dot product per mini-batch remains, for the divergence check);
- in a run of small products (``SMALL_GEMM``) BLAS gets one thread, and the forward and BP2
  products go through ``np.dot`` (less overhead per call than an f2py GEMM); a run of large ones
  keeps the configured threads and does every product with the one BLAS library of the GEMMs.

GEMM comes from ``scipy.linalg.blas`` (scipy is installed with scikit-learn, a dependency of
deltaprop): numpy's ``matmul`` has no β, so without it each update costs a product into a buffer and a
second pass over w. When scipy is missing, ``_numpy_gemm`` does the same with numpy.

``enabled`` (False forces the readable loop, for tests and benchmarks; so does the environment
variable ``DELTAPROP_FAST=0``) and ``use_blas`` (False forces numpy's matmul) are module switches.
"""

from __future__ import annotations

import contextlib
import math
import os
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from deltaprop import activations as _activations
from deltaprop import costs as _costs
from deltaprop.errors import TrainingDivergedError

if TYPE_CHECKING:
    from deltaprop.network import Network
    from deltaprop.training import _Trainer

try:  # scipy comes with scikit-learn; the numpy fallback below keeps the fast path without it
    from scipy.linalg import blas as _scipy_blas
    from scipy.special import expit as _expit
except ImportError:  # pragma: no cover - scipy is installed with scikit-learn
    _scipy_blas = None
    _expit = None

Array = np.ndarray

enabled = os.environ.get("DELTAPROP_FAST", "1") != "0"
use_blas = _scipy_blas is not None
SPEED_CHUNK = 64  # mini-batches whose bias gradients are kept before their norms are reduced
# Multiply-adds of a mini-batch's largest product below which BLAS gets one thread: splitting a
# product of ~1e6 multiply-adds (30-200 µs) costs more in hand-off than it saves, and on a busy
# machine a thread waiting for a core stalls every step. Larger runs keep the configured threads.
SMALL_GEMM = 1 << 22

# Kinds of activation the loop computes in place; any other one is called as the readable path does.
_SIGMOID, _TANH, _RELU, _LINEAR, _SOFTMAX, _OTHER, _EXPIT = range(7)  # _EXPIT: σ by expit
# Output errors δ^L the loop computes in place; any other pairing calls ``cost.delta``.
_QUADRATIC_SIGMOID, _A_MINUS_Y, _SOFTMAX_LOG_LIKELIHOOD, _COST_DELTA = range(4)


def _activation_kind(act: _activations.Activation) -> int:
    """Which built-in activation ``act`` is, by identity of its functions (a re-registered name with
    other functions is computed through its own functions)."""
    known = {
        _SIGMOID: (_activations._sigmoid, _activations._sigmoid_prime),
        _TANH: (np.tanh, _activations._tanh_prime),
        _RELU: (_activations._relu, _activations._relu_prime),
        _LINEAR: (_activations._linear, _activations._linear_prime),
    }
    for kind, (function, derivative) in known.items():
        if act.function is function and act.derivative is derivative:
            return kind
    if act.function is _activations._softmax and act.jvp is _activations._softmax_jvp:
        return _SOFTMAX
    return _OTHER


def _output_kind(cost: _costs.Cost, kind: int) -> int:
    """How to compute δ^L; the built-in cost classes only (a subclass may override ``delta``)."""
    if type(cost) is _costs.QuadraticCost and kind == _SIGMOID:
        return _QUADRATIC_SIGMOID
    if type(cost) is _costs.QuadraticCost and kind == _LINEAR:
        return _A_MINUS_Y  # ∇_a C ⊙ σ'(z) = (a − y) ⊙ 1
    if type(cost) is _costs.CrossEntropyCost and kind == _SIGMOID:
        return _A_MINUS_Y
    if type(cost) is _costs.LogLikelihoodCost and kind == _SOFTMAX:
        return _SOFTMAX_LOG_LIKELIHOOD
    return _COST_DELTA


def _numpy_gemm(
    alpha: float, a: Array, b: Array, beta: float = 0.0, c: Array | None = None,
    trans_a: int = 0, trans_b: int = 0, overwrite_c: int = 1,
) -> Array:
    """``c ← alpha op(a) op(b) + beta c`` in place, like BLAS GEMM, with numpy (the fallback)."""
    assert c is not None
    left = a.T if trans_a else a
    right = b.T if trans_b else b
    if beta == 0.0:
        np.matmul(left, right, out=c)
        if alpha != 1.0:
            c *= alpha
        return c
    product = np.matmul(left, right)
    product *= alpha
    if beta != 1.0:
        c *= beta
    c += product
    return c


def _gemm_for(dtype: np.dtype) -> Callable[..., Array]:
    if use_blas and _scipy_blas is not None:
        return _scipy_blas.sgemm if dtype == np.float32 else _scipy_blas.dgemm
    return _numpy_gemm


# float32 sigmoids of at most this many entries go through expit too: its float32 loop is scalar
# (~13 ns an entry against ~3 for tanh's SIMD loop) but it is one call instead of four.
EXPIT_FLOAT32_MAX = 2048


def _uses_expit(dtype: np.dtype, entries: int) -> bool:
    return _expit is not None and (dtype == np.float64 or entries <= EXPIT_FLOAT32_MAX)


def _sigmoid_into(z: Array, out: Array) -> None:
    """σ(z) into ``out``: one ufunc (expit) in float64 and for small float32 arrays; otherwise the
    readable form (1 + tanh(z/2))/2, four SIMD passes, faster than expit's scalar float32 loop."""
    if _uses_expit(z.dtype, z.size):
        _expit(z, out=out)
    else:
        np.multiply(z, 0.5, out=out)
        np.tanh(out, out=out)
        np.add(out, 1.0, out=out)
        np.multiply(out, 0.5, out=out)


def _usable(array: Array, shape: tuple[int, ...], dtype: np.dtype) -> bool:
    """A parameter array the loop can update in place (through BLAS, which cannot see a copy)."""
    return (
        isinstance(array, np.ndarray)
        and array.shape == shape
        and array.dtype == dtype
        and array.flags.c_contiguous
        and array.flags.writeable
        and array.flags.aligned
    )


class _Batch:
    """The buffers for mini-batches of ``m`` rows: row views of the run's (k, n) buffers."""

    def __init__(self, run: _EpochRunner, m: int) -> None:
        self.m = m
        L = len(run.sizes) - 1
        self.z = [buf[:m] for buf in run.z_buf]
        self.a = [buf[:m] for buf in run.a_buf]
        self.d = [buf[:m] for buf in run.d_buf]
        self.t = [buf[:m] for buf in run.t_buf]
        self.masked = [None if buf is None else buf[:m] for buf in run.masked_buf]
        self.flags = [None if buf is None else buf[:m] for buf in run.flag_buf]
        self.column = run.column_buf[:m]  # (m, 1), for softmax's row max and row sums
        self.zT = [z.T for z in self.z]
        self.dT = [d.T for d in self.d]
        # the input of layer i as BLAS sees it; entry 0 is set to the mini-batch's X each step
        self.inputT: list[Array | None] = [None] + [self.a[i].T for i in range(L - 1)]
        self.inputs: list[Array | None] = [None] + [self.a[i] for i in range(L - 1)]
        self.ones = np.ones(m, run.dtype)  # Σ over rows as a product: ones · δ
        self._eta = math.nan
        self._scale = np.zeros((), run.dtype)

    def scale(self, eta: float) -> Array:
        """η/m as a 0-d array of the dtype (numpy handles it faster than a Python float)."""
        if eta != self._eta:
            self._eta, self._scale = eta, np.asarray(eta / self.m, dtype=self._scale.dtype)
        return self._scale


class _EpochRunner:
    """One training run's fast loop: constants, buffers and the epoch itself."""

    def __init__(self, trainer: _Trainer) -> None:
        net = trainer.net
        self.net = net
        self.weights = list(net.weights)
        self.biases = list(net.biases)
        self.sizes = tuple(net.sizes)
        self.dtype = net.dtype
        self.kinds = [_activation_kind(act) for act in net.activations]
        self.output = _output_kind(net.cost_function, self.kinds[-1])
        k = min(trainer.config.batch_size, trainer.train.X.shape[0])
        # sigmoids computed by expit, one ufunc (see _sigmoid_into)
        self.forward_kinds = [
            _EXPIT if kind == _SIGMOID and _uses_expit(self.dtype, k * n) else kind
            for kind, n in zip(self.kinds, self.sizes[1:], strict=True)
        ]
        self.gemm = _gemm_for(self.dtype)
        self.blas = self.gemm is not _numpy_gemm
        self.k = k
        L = len(self.sizes) - 1
        dt = self.dtype
        out_sizes = self.sizes[1:]
        self.z_buf = [np.empty((k, n), dt) for n in out_sizes]
        # a linear layer's activation is its z (the readable path copies; nothing writes to either)
        self.a_buf = [
            self.z_buf[i] if self.kinds[i] == _LINEAR else np.empty((k, n), dt)
            for i, n in enumerate(out_sizes)
        ]
        self.d_buf = [np.empty((k, n), dt) for n in out_sizes]
        self.t_buf = [np.empty((k, n), dt) for n in out_sizes]
        dropout = bool(trainer.config.dropout)
        self.masked_buf = [None] + [
            np.empty((k, n), dt) if dropout else None for n in self.sizes[1:-1]
        ]
        self.flag_buf = [
            np.empty((k, n), np.bool_) if self.kinds[i] == _RELU and i < L - 1 else None
            for i, n in enumerate(out_sizes)
        ]
        self.column_buf = np.empty((k, 1), dt)
        self.batches: dict[int, _Batch] = {}
        # learning speed: bias updates of up to SPEED_CHUNK mini-batches, one row each
        self.offsets = np.cumsum([0, *out_sizes[:-1]])
        self.speed_table = np.empty((SPEED_CHUNK, sum(out_sizes)), dt)
        self.speed_rows = list(self.speed_table)
        self.speed_views = [
            [row[o:o + n] for o, n in zip(self.offsets, out_sizes, strict=True)]
            for row in self.speed_table
        ]
        self.scratch_w: list[Array] | None = None
        # products this small run faster on one thread than handed to several (see _one_blas_thread)
        self.small = k * max(n_in * n_out for n_in, n_out in net.layer_shapes()) < SMALL_GEMM

    def batch(self, m: int) -> _Batch:
        found = self.batches.get(m)
        if found is None:
            found = self.batches[m] = _Batch(self, m)
        return found

    def matches(self, trainer: _Trainer) -> bool:
        """Whether the network still holds the arrays this runner was built for."""
        net = trainer.net
        return (
            net is self.net
            and len(net.weights) == len(self.weights)
            and all(w is v for w, v in zip(net.weights, self.weights, strict=True))
            and all(b is c for b, c in zip(net.biases, self.biases, strict=True))
            and min(trainer.config.batch_size, trainer.train.X.shape[0]) == self.k
        )

    # -- the epoch --------------------------------------------------------------------------------

    def run(self, trainer: _Trainer, X: Array, Y: Array, on_batch: Callable[[], None]) -> list[float]:
        """Train the rest of the current epoch, as ``_Trainer.run_epoch`` does; returns the speeds."""
        if not self.small:
            return self._run(trainer, X, Y, on_batch)
        with _one_blas_thread():
            return self._run(trainer, X, Y, on_batch)

    def _run(self, trainer: _Trainer, X: Array, Y: Array, on_batch: Callable[[], None]) -> list[float]:
        net, opt = self.net, trainer.optimizer
        L = len(self.weights)
        eta = float(opt.eta)
        n_rows = X.shape[0]
        k = trainer.config.batch_size
        n_batches = -(-n_rows // k)
        momentum = float(opt.momentum)
        decay = eta * float(opt.lmbda) / opt.n  # ηλ/n
        l1 = eta * float(opt.l1) / opt.n  # ηλ₁/n
        if momentum and not opt.velocity_w:
            opt.velocity_w = [np.zeros_like(w) for w in net.weights]
            opt.velocity_b = [np.zeros_like(b) for b in net.biases]
        vw, vb = opt.velocity_w, opt.velocity_b
        needs_scratch = bool(l1) or (momentum and decay)
        if needs_scratch and self.scratch_w is None:
            self.scratch_w = [np.empty_like(w) for w in self.weights]
        scratch = self.scratch_w
        beta_w = momentum if momentum else 1.0 - decay  # the β of the update GEMM
        gemm = self.gemm
        weights, biases = self.weights, self.biases
        wT = [w.T for w in weights]
        target_T = [v.T for v in vw] if momentum else wT  # what the update GEMM writes
        kinds, forward_kinds = self.kinds, self.forward_kinds
        expit = _expit
        out_kind = self.output
        cost, out_act = net.cost_function, net.activations[-1]
        acts = net.activations
        dropout = bool(trainer.config.dropout)
        last = L - 1
        hidden = range(L - 2, -1, -1)
        layers = range(L)
        speed_views, speed_rows = self.speed_views, self.speed_rows
        pending = 0  # rows of the speed table not yet added to trainer.speed_sums
        subtract, multiply, add, reduce = np.subtract, np.multiply, np.add, np.add.reduce
        dot, isfinite = np.dot, math.isfinite
        small = self.small  # numpy's dot for the products (less overhead per call) and sums
        b_rows = [b[None, :] for b in biases]  # (1, n): numpy broadcasts it faster than (n,)
        one = np.ones((), self.dtype)  # 0-d arrays of the dtype: cheaper than Python scalars
        batch_full = self.batch(min(k, n_rows))
        should_stop = trainer.should_stop

        c_full = batch_full.scale(eta)
        batch = trainer.batch
        while batch < n_batches:
            start = batch * k
            xb, yb = X[start:start + k], Y[start:start + k]
            m = xb.shape[0]
            if m == batch_full.m:
                bt, c = batch_full, c_full
            else:
                bt = self.batch(m)
                c = bt.scale(eta)
            masks = trainer._dropout_masks(m) if dropout else None
            z, a, d, t, inputs, inputT = bt.z, bt.a, bt.d, bt.t, bt.inputs, bt.inputT
            inputs[0], inputT[0] = xb, xb.T
            # -- feedforward: z^l = a^(l-1) (w^l)ᵀ + b^l, a^l = σ(z^l) --
            for i in layers:
                zi, ai = z[i], a[i]
                if masks is not None and i > 0:
                    multiply(a[i - 1], masks[i - 1], out=bt.masked[i])
                    inputs[i], inputT[i] = bt.masked[i], bt.masked[i].T
                if small:
                    dot(inputs[i], wT[i], out=zi)
                else:
                    gemm(1.0, wT[i], inputT[i], 0.0, bt.zT[i], 1, 0, 1)
                add(zi, b_rows[i], out=zi)
                kind = forward_kinds[i]
                if kind == _EXPIT:
                    expit(zi, out=ai)
                elif kind == _SIGMOID:
                    _sigmoid_into(zi, ai)
                elif kind == _TANH:
                    np.tanh(zi, out=ai)
                elif kind == _RELU:
                    np.maximum(zi, 0.0, out=ai)
                elif kind == _SOFTMAX:
                    col = bt.column
                    np.max(zi, axis=1, keepdims=True, out=col)
                    subtract(zi, col, out=ai)
                    np.exp(ai, out=ai)
                    reduce(ai, axis=1, keepdims=True, out=col)
                    np.divide(ai, col, out=ai)
                elif kind != _LINEAR:
                    ai[...] = acts[i].function(zi)
            # -- BP1, scaled: δ̃^L = (η/m) δ^L --
            zL, aL, dL, tL = z[last], a[last], d[last], t[last]
            if out_kind == _QUADRATIC_SIGMOID:  # (a − y) ⊙ a(1 − a)
                subtract(one, aL, out=tL)
                multiply(tL, aL, out=tL)
                subtract(aL, yb, out=dL)
                multiply(dL, tL, out=dL)
                multiply(dL, c, out=dL)
            elif out_kind == _A_MINUS_Y:
                subtract(aL, yb, out=dL)
                multiply(dL, c, out=dL)
            elif out_kind == _SOFTMAX_LOG_LIKELIHOOD:  # a Σ_j y_j − y, as LogLikelihoodCost
                col = bt.column
                reduce(yb, axis=1, keepdims=True, out=col)
                multiply(aL, col, out=dL)
                subtract(dL, yb, out=dL)
                multiply(dL, c, out=dL)
            else:
                multiply(cost.delta(zL, aL, yb, out_act), c, out=dL)
            # -- BP2: δ̃^l = (δ̃^(l+1) w^(l+1)) ⊙ σ'(z^l) --
            for i in hidden:
                di, ti, ai = d[i], t[i], a[i]
                if small:
                    dot(d[i + 1], weights[i + 1], out=di)
                else:
                    gemm(1.0, wT[i + 1], bt.dT[i + 1], 0.0, bt.dT[i], 0, 0, 1)
                kind = kinds[i]
                if kind == _SIGMOID:
                    subtract(one, ai, out=ti)
                    multiply(ti, ai, out=ti)
                    multiply(di, ti, out=di)
                elif kind == _TANH:
                    multiply(ai, ai, out=ti)
                    subtract(one, ti, out=ti)
                    multiply(di, ti, out=di)
                elif kind == _RELU:
                    flags = bt.flags[i]
                    np.greater(z[i], 0.0, out=flags)
                    multiply(di, flags, out=di)
                elif kind != _LINEAR:
                    multiply(di, acts[i].derivative(z[i], ai), out=di)
                if masks is not None:
                    multiply(di, masks[i], out=di)
            # -- BP3: η ∂C/∂b^l = Σ_rows δ̃^l, into this mini-batch's row of the speed table --
            views = speed_views[pending]
            for i in layers:
                if small:
                    dot(bt.ones, d[i], out=views[i])
                else:
                    reduce(d[i], axis=0, out=views[i])
            squared = dot(speed_rows[pending], speed_rows[pending])
            pending += 1
            if not isfinite(squared):
                self._add_speeds(trainer, pending, eta)
                raise TrainingDivergedError(
                    f"training diverged in epoch {trainer.epoch + 1}, mini-batch {trainer.batch + 1}:"
                    f" the gradient became NaN or infinite; try a smaller eta (now {opt.eta:g})"
                )
            # -- BP4 fused with the update: wᵀ ← β wᵀ − (a^(l-1))ᵀ δ̃^l; then b ← b − Σ δ̃^l --
            for i in layers:
                w = weights[i]
                if momentum:  # v ← μ v − η(∇C + (λ/n) w + (λ₁/n) sgn w), then w ← w + v
                    v = vw[i]
                    gemm(-1.0, inputT[i], bt.dT[i], momentum, target_T[i], 0, 1, 1)
                    if decay:
                        subtract(v, multiply(w, decay, out=scratch[i]), out=v)
                    if l1:
                        np.sign(w, out=scratch[i])
                        subtract(v, multiply(scratch[i], l1, out=scratch[i]), out=v)
                    add(w, v, out=w)
                    vbi = vb[i]
                    multiply(vbi, momentum, out=vbi)
                    subtract(vbi, views[i], out=vbi)
                    add(biases[i], vbi, out=biases[i])
                    continue
                if l1:  # (ηλ₁/n) sgn w, of the weights before this step
                    multiply(np.sign(w, out=scratch[i]), l1, out=scratch[i])
                gemm(-1.0, inputT[i], bt.dT[i], beta_w, target_T[i], 0, 1, 1)
                if l1:
                    subtract(w, scratch[i], out=w)
                subtract(biases[i], views[i], out=biases[i])
            if pending == SPEED_CHUNK:
                self._add_speeds(trainer, pending, eta)
                pending = 0
            batch += 1
            trainer.batch = batch
            on_batch()
            if batch < n_batches and should_stop():
                self._add_speeds(trainer, pending, eta)
                pending = 0
                trainer._interrupt()
        self._add_speeds(trainer, pending, eta)
        speeds = [total / n_batches for total in trainer.speed_sums]
        trainer.batch, trainer.speed_sums = 0, [0.0] * L
        return speeds

    def _add_speeds(self, trainer: _Trainer, rows: int, eta: float) -> None:
        """Add ‖∂C/∂b^l‖ of the first ``rows`` mini-batches of the table to trainer.speed_sums."""
        if rows == 0:
            return
        table = self.speed_table[:rows].astype(np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            norms = np.sqrt(np.add.reduceat(table * table, self.offsets, axis=1)) / eta
        for i, total in enumerate(norms.sum(axis=0).tolist()):
            trainer.speed_sums[i] += total


_controller: Any = None


@contextlib.contextmanager
def _one_blas_thread() -> Iterator[None]:
    """Limit the BLAS libraries (numpy's and scipy's) to one thread for the duration."""
    global _controller
    try:
        if _controller is None:
            from threadpoolctl import ThreadpoolController  # comes with scikit-learn

            _controller = ThreadpoolController()
        limiter = _controller.limit(limits=1, user_api="blas")
    except Exception:  # pragma: no cover - threadpoolctl missing or unable to see the libraries
        yield
        return
    try:
        yield
    finally:
        limiter.restore_original_limits()


_RUNNERS: weakref.WeakKeyDictionary[Any, _EpochRunner] = weakref.WeakKeyDictionary()


def _supported(trainer: _Trainer) -> bool:
    """Whether every array the loop updates in place can be updated in place."""
    net, opt = trainer.net, trainer.optimizer
    dt = net.dtype
    if dt not in (np.dtype(np.float64), np.dtype(np.float32)):
        return False
    shapes_w = [(n_out, n_in) for n_in, n_out in net.layer_shapes()]
    if len(net.weights) != len(shapes_w) or len(net.biases) != len(shapes_w):
        return False
    if not all(_usable(w, s, dt) for w, s in zip(net.weights, shapes_w, strict=True)):
        return False
    if not all(_usable(b, (s[0],), dt) for b, s in zip(net.biases, shapes_w, strict=True)):
        return False
    if opt.velocity_w or opt.velocity_b:
        if len(opt.velocity_w) != len(shapes_w) or len(opt.velocity_b) != len(shapes_w):
            return False
        if not all(_usable(v, s, dt) for v, s in zip(opt.velocity_w, shapes_w, strict=True)):
            return False
        if not all(_usable(v, (s[0],), dt) for v, s in zip(opt.velocity_b, shapes_w, strict=True)):
            return False
    X, Y = trainer.train.X, trainer.train.Y
    return X.dtype == dt and Y.dtype == dt


def run_epoch(trainer: _Trainer, X: Array, Y: Array, on_batch: Callable[[], None]) -> list[float] | None:
    """Run the rest of ``trainer``'s current epoch on the fast path and return the learning speeds,
    or return None, having done nothing, when the fast path is disabled or cannot take this run."""
    if not enabled or not _supported(trainer):
        return None
    runner = _RUNNERS.get(trainer)
    if runner is None or not runner.matches(trainer) or runner.blas != (
        _gemm_for(trainer.net.dtype) is not _numpy_gemm
    ):
        runner = _RUNNERS[trainer] = _EpochRunner(trainer)
    return runner.run(trainer, X, Y, on_batch)


def uses_fast_path(net: Network) -> bool:
    """Whether ``fit`` would train ``net`` on the fast path (enabled, float32 or float64, arrays that
    can be updated in place); a cheap check for benchmarks and tests."""
    dt = net.dtype
    shapes_w = [(n_out, n_in) for n_in, n_out in net.layer_shapes()]
    return enabled and all(_usable(w, s, dt) for w, s in zip(net.weights, shapes_w, strict=True))
