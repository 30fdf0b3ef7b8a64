"""Training a network: ``fit``, the one call that runs mini-batch SGD (Nielsen, chapters 1 and 3).

``fit`` checks its inputs once, builds a ``Trainer`` (``deltaprop.trainer``: the loop) with the
optimizer the options name, resumes it from a checkpoint when asked, and runs it. Its keyword
defaults come from the options table (``deltaprop.options.TrainingConfig``), as the command line's do;
the default η of plain SGD is the cost's (``Cost.default_eta``). It gives the network its ``classes``
when the labels are not output-unit indices, warns once of inputs far beyond [0, 1]
(``deltaprop.errors.UnscaledInputWarning``), and prints a line per epoch when ``verbose``.
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from deltaprop._validation import classes_of
from deltaprop.errors import UnscaledInputWarning
from deltaprop.history import History, epoch_line
from deltaprop.network import Network
from deltaprop.optimizers import Optimizer
from deltaprop.options import DEFAULTS, OPTIONS, TrainingConfig, default_eta
from deltaprop.trainer import Callback, CheckpointStore, LiveProgress, Trainer, live_progress
from deltaprop.training_data import TrainingData, data_fingerprint


def _pair(data: Any, name: str) -> tuple[Any, Any]:
    if not isinstance(data, Sequence) or len(data) != 2:
        raise TypeError(f"{name} must be a pair (X, y), got {type(data).__name__}")
    return data[0], data[1]


def fit(
    net: Network,
    X: Any,
    y: Any,
    sample_weight: Any = None,
    *,
    config: TrainingConfig | None = None,
    optimizer: str | Optimizer = DEFAULTS["optimizer"],
    validation_data: tuple[Any, Any] | None = None,
    test_data: tuple[Any, Any] | None = None,
    callbacks: Iterable[Callback] = (),
    progress: bool | Any = False,
    verbose: int = 0,
    warn_unscaled: bool = True,
    should_stop: Callable[[], bool] | None = None,
    checkpoint: CheckpointStore | None = None,
    resume: bool = False,
    **options: Any,
) -> History:
    """Train ``net`` in place by mini-batch stochastic gradient descent.

    Args:
        net: the network to train.
        X: training inputs, shape (n, sizes[0]); used in place when already of the network's dtype.
        y: class labels of shape (n,) (one-hot encoded internally) or targets (n, sizes[-1]). Labels
            may be any integers or strings: when they are not the output-unit indices 0 ..
            sizes[-1] - 1 and the network has no ``classes``, fit sets ``net.classes`` to their
            sorted distinct values (as many as output units), and ``predict`` returns them.
        sample_weight: optional weights s_x >= 0 of the rows, shape (n,): each mini-batch's cost is
            then the weighted mean Σ s_x C_x / Σ s_x (so scaling all weights changes nothing).
            ``class_weight="balanced"`` multiplies them (or 1s) by scikit-learn's class weights.
        config: a ``TrainingConfig`` (checked already); the training options are then left out.
        optimizer: a name of ``deltaprop.optimizers.OPTIMIZERS`` (e.g. "sgd", "adam"), or an
            optimizer of a registered class (its η, regularization and options are the run's).
        **options: the training options (epochs, batch_size, eta, lmbda, ..., the optimizers'
            options such as momentum or beta_1): ``deltaprop.options.OPTIONS`` lists and documents
            each (the same table as ``deltaprop train --help``). The book's defaults: 30 epochs,
            mini-batches of 10; ``eta=None`` means the optimizer's η: for plain SGD the cost's
            (3.0 for the quadratic cost, 0.5 for cross-entropy and log-likelihood).
        validation_data, test_data: (X, y) pairs evaluated after every epoch.
        callbacks: functions called with each epoch's record (a dict; see ``History``).
        progress: show a progress bar (True), on a given rich Console. In a Jupyter notebook
            (with deltaprop imported there), True shows one live display instead, updated in place:
            the bar, the epoch table and the cost and accuracy curves.
        verbose: as Keras's: 0 (the default) prints nothing; 2 prints one line per epoch to stdout
            (or to the Console given as ``progress``), e.g. ``epoch 3/30 - 0.21s - train_cost:
            0.2817 - train_accuracy: 0.9412 - validation_cost: 0.3120 - validation_accuracy:
            0.9333``; 1 adds the progress bar.
        warn_unscaled: warn (``UnscaledInputWarning``, once per call) when X reaches far beyond
            [0, 1]: its largest |x| above 10 and its mean |x| above 1, as raw pixels (0..255) or the
            digits' 0..16 do, but not standardized data. See ``warn_if_unscaled``.
        should_stop: called after every mini-batch; when it returns True, the position is saved to
            ``checkpoint`` (if any) and ``TrainingInterrupted`` raised.
        checkpoint: where to save the trainer's state at the end of every epoch, e.g.
            ``deltaprop.checkpoint.Checkpoint(directory)``.
        resume: continue from the state in ``checkpoint``, with the configuration stored there
            (training options given here must then be left at their defaults or equal).

    Returns:
        The History of per-epoch records (of the whole run, when resuming). ``net`` then holds the
        parameters of the epoch ``History.kept_epoch`` names: with ``keep="best"`` (the default) and
        validation data the epoch of the best validation accuracy (of equals, the lowest validation
        cost, then the earliest; for targets that are not classes the lowest validation cost), else
        the last.

    Raises:
        TrainingDivergedError: the cost or gradient became NaN or infinite; the message names the
            epoch and mini-batches, and no checkpoint of the diverged state is written.
        TrainingInterrupted: ``should_stop`` asked to stop.
    """
    saved = _saved_state(checkpoint, resume)
    config = _run_config(net, config, optimizer, options, None if saved is None else saved[0]["config"])
    progress = _progress(progress, verbose, config.epochs)
    callbacks = [*callbacks, *_verbosity(verbose, progress, config.epochs)]
    if net.classes is None and np.ndim(y) == 1 and np.size(y):
        net.classes = classes_of("training y", y, net.sizes[-1])
    data = TrainingData(net, X, y, sample_weight, "training", config.class_weight)
    if warn_unscaled:
        warn_if_unscaled("X", data.X, stacklevel=2)
    monitored = {
        name: TrainingData(net, *_pair(pair, f"{name}_data"), None, name)
        for name, pair in (("validation", validation_data), ("test", test_data)) if pair is not None
    }
    if (config.schedule is not None or config.early_stopping is not None) and (
        "validation" not in monitored
    ):
        raise ValueError("schedule and early_stopping need validation_data, got none")
    trainer = Trainer(net, data, config, monitored, optimizer if isinstance(optimizer, Optimizer) else None)
    trainer.checkpoint = checkpoint
    trainer.fingerprint = data_fingerprint(data) if checkpoint is not None else {}
    if saved is not None:
        _restore(trainer, *saved)
    if should_stop is not None:
        trainer.should_stop = should_stop
    net.training_config = config.as_dict()
    return trainer.run(callbacks, progress)


def _signature_with_options() -> inspect.Signature:
    """``fit``'s signature with each training option of the table as a keyword argument at its
    default, in place of ``**options``: ``help(fit)`` and editors show the book's defaults."""
    signature = inspect.signature(fit)
    parameters = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
    given = {p.name for p in parameters}
    parameters += [inspect.Parameter(option.name, inspect.Parameter.KEYWORD_ONLY, default=option.default)
                   for option in OPTIONS if option.name not in given]
    return signature.replace(parameters=parameters)


fit.__signature__ = _signature_with_options()  # type: ignore[attr-defined]


def _progress(progress: Any, verbose: int, epochs: int) -> Any:
    """What shows the run's progress: the Console given; for ``progress=True`` (or ``verbose=1``) a
    live view where one is registered (``deltaprop.trainer.LIVE_PROGRESS``: a notebook's), else
    True (the terminal's bar); False: nothing."""
    wanted = progress is True or (progress is False and verbose == 1)
    view = live_progress(epochs) if wanted else None
    return view if view is not None else progress or verbose == 1


def _verbosity(verbose: int, progress: Any, epochs: int) -> list[Callback]:
    """The callback that prints a line per epoch (none for verbose=0); the Console given as
    ``progress`` gets the lines, else stdout; a live view (``LiveProgress``) gets the records
    instead, its table showing them."""
    if isinstance(verbose, bool) or verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 0, 1 or 2 (as Keras's), got {verbose!r}")
    if isinstance(progress, LiveProgress):
        return [progress.epoch_done]
    if not verbose:
        return []
    console = None if isinstance(progress, bool) else progress

    def show(record: dict[str, Any]) -> None:
        line = epoch_line(record, epochs)
        if console is None:
            print(line, flush=True)
        else:
            console.print(line, markup=False, highlight=False)

    return [show]


SCALE_CHECK_VALUES = 1 << 16
"""Values of X whose |x| ``warn_if_unscaled`` takes at a time (a 512 KiB temporary in float64)."""
UNSCALED_MAX_ABS = 10.0
"""``warn_if_unscaled`` warns when the largest |x| is above this ..."""
UNSCALED_MEAN_ABS = 1.0
"""... and the mean |x| above this: raw pixels and 0..16 counts do, standardized data do not."""


def warn_if_unscaled(name: str, X: np.ndarray, stacklevel: int = 2) -> bool:
    """Warn (``UnscaledInputWarning``) when the float matrix X reaches far beyond [0, 1]: its largest
    |x| above ``UNSCALED_MAX_ABS`` and its mean |x| above ``UNSCALED_MEAN_ABS``. The statistics are
    taken ``SCALE_CHECK_VALUES`` values at a time (no full-size temporary). Returns whether it
    warned."""
    low, high, total = math.inf, -math.inf, 0.0
    rows = max(1, SCALE_CHECK_VALUES // max(X.shape[1], 1))
    for start in range(0, X.shape[0], rows):
        block = X[start:start + rows]
        low, high = min(low, float(block.min())), max(high, float(block.max()))
        with np.errstate(over="ignore"):  # values near ±1e308 sum to inf: unscaled all the same
            total += float(np.abs(block).sum(dtype=np.float64))
    largest, mean = max(abs(low), abs(high)), total / max(X.size, 1)
    if largest <= UNSCALED_MAX_ABS or mean <= UNSCALED_MEAN_ABS:
        return False
    warning = UnscaledInputWarning(
        f"{name} ranges over [{low:g}, {high:g}] (mean |x| {mean:.3g}), far beyond [0, 1]: sigmoid "
        f"units saturate and training is slow and poor. Scale the inputs, e.g. X / {largest:g} "
        f"(pixels 0..255: X / 255), or standardize them; fit(..., warn_unscaled=False) silences "
        f"this")
    warning.low, warning.high, warning.mean = low, high, mean  # for the command line's own wording
    warnings.warn(warning, stacklevel=stacklevel + 1)
    return True


def _saved_state(checkpoint: CheckpointStore | None,
                 resume: bool) -> tuple[dict[str, Any], dict[str, Any]] | None:
    if not resume:
        return None
    if checkpoint is None:
        raise ValueError("resume=True needs a checkpoint to resume from, got checkpoint=None")
    saved = checkpoint.load()
    if saved is None:
        raise FileNotFoundError(f"no checkpoint to resume in {getattr(checkpoint, 'directory', '?')}")
    return saved


def _run_config(net: Network, config: TrainingConfig | None, optimizer: str | Optimizer,
                options: dict[str, Any], stored: dict[str, Any] | None) -> TrainingConfig:
    """The run's configuration: ``config``, or the options given (an optimizer instance gives its
    own), or, resuming, those stored in the checkpoint (which options given must equal)."""
    if isinstance(optimizer, Optimizer):
        options = {**optimizer.as_options(), **options}
    else:
        options = {**options, "optimizer": optimizer}
    unknown = sorted(set(options) - set(DEFAULTS))
    if unknown:
        raise TypeError(f"fit got unknown options {unknown}; the training options are {list(DEFAULTS)}")
    if config is not None:
        given = [name for name, value in options.items() if value != DEFAULTS[name]]
        if given:
            raise ValueError(f"fit takes a config or training options, got both: {given}")
        options = config.as_dict()
    if stored is None:
        if config is not None:
            return config
        if options.get("eta") is None:
            options["eta"] = default_eta(options["optimizer"], net.cost_function)
        return TrainingConfig(**options)
    for name, value in options.items():
        if value != DEFAULTS[name] and value != stored.get(name, DEFAULTS[name]):
            raise ValueError(
                f"{name}={value!r} differs from the checkpoint's {name}={stored.get(name)!r}; "
                f"a resumed run keeps its original configuration"
            )
    return TrainingConfig(**stored, checked=True)  # the checkpoint's schema checked it


def _restore(trainer: Trainer, numbers: dict[str, Any], tensors: dict[str, Any]) -> None:
    if numbers.get("network") != trainer.net.architecture:
        raise ValueError(
            f"the network {trainer.net!r} does not match the checkpoint's {numbers.get('network')}")
    if numbers.get("data") != trainer.fingerprint:
        stored = numbers.get("data") or {}
        raise ValueError(
            f"the training data differ from the checkpoint's: expected {stored.get('rows')} rows x "
            f"{stored.get('columns')} columns with the same values; resume with the data the run "
            f"started with"
        )
    trainer.load_state(numbers, tensors["optimizer"], tensors["weights"], tensors["biases"])


__all__ = ["CheckpointStore", "Trainer", "TrainingConfig", "TrainingData", "fit", "warn_if_unscaled"]
