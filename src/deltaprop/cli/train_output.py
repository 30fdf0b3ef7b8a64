"""What ``deltaprop train`` prints and writes: the per-epoch table, the summary, the run directory.

A run directory holds ``model.safetensors`` (with enough metadata for evaluate and predict, and the
training configuration), ``history.json``, ``config.json`` (the command's other options, the data set,
the network, the training configuration once) and, unless ``--no-plots``, the PNG plots.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from deltaprop import io, plots
from deltaprop._files import jsonable, write_json
from deltaprop._output import plain, safe
from deltaprop._version import __version__
from deltaprop.cli._common import class_names, console, percent
from deltaprop.cli.train_plan import RunPlan
from deltaprop.datasets import Dataset, Split
from deltaprop.history import History
from deltaprop.network import Network
from deltaprop.recording import SNAPSHOT_FILE, RecordedHistory

MODEL_FILE = "model.safetensors"
HISTORY_FILE = "history.json"
CONFIG_FILE = "config.json"
PLOT_FILES = {
    "curves": "curves.png",
    "learning_speed": "learning_speed.png",
    "confusion_matrix": "confusion_matrix.png",
    "weights": "first_layer_weights.png",
}
#: What a run directory may hold: the names of ``run_files``.
RUN_FILE_NAMES = (MODEL_FILE, HISTORY_FILE, CONFIG_FILE, SNAPSHOT_FILE, *PLOT_FILES.values())
#: Files to write: file name -> function writing that file at a path.
FileWriters = dict[str, Callable[[Path], object]]


class EpochTable:
    """Prints one row per epoch as training goes, under one header, through ``console``."""

    COLUMNS = (("epoch", 5), ("train cost", 10), ("train acc", 9), ("val acc", 8),
               ("test acc", 8), ("η", 8), ("seconds", 7))

    def __init__(self, console: Any) -> None:
        self.console = console
        self.header = True

    def __call__(self, record: dict[str, Any]) -> None:
        """Print the row of one epoch's record (a ``fit`` callback)."""
        from rich.table import Table

        table = Table(box=None, show_header=self.header, header_style="bold", pad_edge=False)
        for name, width in self.COLUMNS:
            table.add_column(name, justify="right", width=width, no_wrap=True)
        accuracies = (percent(record.get(f"{split}_accuracy")) for split in ("train", "validation", "test"))
        table.add_row(str(record["epoch"]), f"{record['train_cost']:.4f}", *accuracies,
                      f"{record['eta']:.4g}", f"{record['seconds']:.2f}")
        self.console.print(table)
        self.header = False


def summary_split(dataset: Dataset) -> tuple[str, Split]:
    """The split the confusion matrix is measured on: test, else validation, else train."""
    for name in ("test", "validation", "train"):
        split = getattr(dataset, name)
        if split.X.shape[0]:
            return name, split
    raise ValueError(f"the {dataset.name} data has no rows")


def run_summary(history: History, seconds: float, dataset: Dataset, net: Network,
            run_dir: Path, initial_speed: list[float] | None = None) -> dict[str, Any]:
    """The outcome of a run, as ``--json`` prints it: the accuracies and costs are those of the
    epoch kept (``kept_epoch``, the model saved; the last when none is named), ``keep`` the option
    that chose it; ``initial_speed`` is the learning speed of the initial network (epoch 0 of the
    learning-speed plot), if measured."""
    kept = history.kept() or history.records[-1]
    split_name, split = summary_split(dataset)
    predicted = np.argmax(net.feedforward(split.X), axis=1)  # output units, whatever the labels
    matrix = plots.confusion_matrix(net.check_labels(split.y), predicted, net.sizes[-1])
    return {
        "test_accuracy": kept["test_accuracy"],
        "best_test_accuracy": history.best("test_accuracy"),
        "validation_accuracy": kept["validation_accuracy"],
        "best_validation_accuracy": history.best("validation_accuracy"),
        "train_accuracy": kept["train_accuracy"],
        "test_cost": kept["test_cost"],
        "epochs_run": len(history),
        "kept_epoch": kept["epoch"],
        "keep": net.training_config.get("keep"),
        "stop_reason": history.stop_reason,
        "seconds": seconds,
        "dataset": dataset.name,
        "sizes": list(net.sizes),
        "run_dir": str(run_dir.absolute()),
        "model_path": str((run_dir / MODEL_FILE).absolute()),
        "confusion_split": split_name,
        "confusion_matrix": matrix,
        "initial_learning_speed": initial_speed,
        "history": history.records,
    }


def run_config(plan: RunPlan, dataset: Dataset, net: Network) -> dict[str, Any]:
    """config.json: the command's options but the training ones, the data set, the network and the
    training configuration."""
    return {
        "command": "train",
        "options": plan.options(),
        "dataset": {
            "name": dataset.name,
            "n_features": dataset.n_features,
            "n_classes": dataset.n_classes,
            "image_shape": dataset.image_shape,
            "rows": {name: int(getattr(dataset, name).X.shape[0])
                     for name in ("train", "validation", "test")},
        },
        "network": {
            "sizes": list(net.sizes),
            "activations": net.activation_names,
            "cost": net.cost_function.name,
            "init": net.init,
            "dtype": net.dtype.name,
            "parameters": net.num_parameters,
        },
        "training": net.training_config,
        "deltaprop_version": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def data_folder(plan: RunPlan) -> str | None:
    """The absolute folder a data set came from: MNIST's (``--data-dir``, else the default one),
    an ``idx:DIR`` spec's DIR; None for the digits and for single files."""
    from deltaprop.datasets import default_data_dir

    keyword = plan.data.strip().lower()
    if keyword == "mnist":
        return str(plan.data_dir or default_data_dir().absolute())
    if keyword.startswith("idx:") and plan.data.strip()[4:]:
        return plan.data.strip()[4:]  # absolute in the plan
    return None


def model_metadata(plan: RunPlan, dataset: Dataset, outcome: dict[str, Any]) -> dict:
    """Extra metadata saved with the model: enough for evaluate and predict to find their way,
    the data set's folder (``data_dir``) included, absolute, so that ``evaluate MODEL`` finds the
    same data from anywhere."""
    return jsonable({
        "dataset": dataset.name,
        "data_spec": plan.data,
        "data_dir": data_folder(plan),
        "data_seed": plan.config.seed,
        "n_classes": dataset.n_classes,
        "image_shape": list(dataset.image_shape) if dataset.image_shape else None,
        "label_column": dataset.label_column,
        "features": None if dataset.features is None else list(dataset.features),
        "validation_data": plan.validation_data,
        "test_data": plan.test_data,
        "test_accuracy": outcome["test_accuracy"],
        "validation_accuracy": outcome["validation_accuracy"],
        "kept_epoch": outcome["kept_epoch"],
    })


def run_description(dataset: Dataset, net: Network) -> str:
    """One line describing a run for the titles of its plots: the data, the layer sizes, the
    activations (hidden/output), the cost, the optimizer's settings, λ, the mini-batch size, the
    epochs and the seed, e.g. 'digits, 64-30-10, sigmoid/sigmoid, cross-entropy, sgd η 0.5, λ 0,
    batch 10, 30 epochs, seed 0'."""
    config = net.training_config
    parts = [dataset.name, "-".join(map(str, net.sizes)), "/".join(net.activation_names[-2:]),
             net.cost_function.name.replace("_", "-")]
    optimizer = config.get("optimizer", "sgd")
    if config.get("eta") is not None:
        optimizer += f" η {config['eta']:g}"
    if config.get("momentum"):
        optimizer += f" μ {config['momentum']:g}"
    parts += [optimizer, f"λ {config.get('lmbda', 0):g}"]
    for key, name in (("l1", "λ1"), ("dropout", "dropout")):
        if config.get(key):
            parts.append(f"{name} {config[key]:g}")
    for key, template in (("batch_size", "batch {}"), ("epochs", "{} epochs"), ("seed", "seed {}")):
        if config.get(key) is not None:
            parts.append(template.format(config[key]))
    return ", ".join(parts)


def plot_writers(dataset: Dataset, net: Network, history: History, outcome: dict[str, Any]) -> FileWriters:
    """The learning curves, learning speed (from epoch 0 when ``outcome`` has the initial
    network's), confusion matrix and (for images) first-layer weights, each titled with the run's
    configuration."""
    title = f"Confusion matrix, {dataset.name} {outcome['confusion_split']} data"
    config = run_description(dataset, net)
    regularized = bool(net.training_config.get("lmbda") or net.training_config.get("l1"))
    writers: FileWriters = {
        PLOT_FILES["curves"]: lambda path: plots.plot_curves(
            history, path, cost=net.cost_function.name, regularized=regularized, config=config),
        PLOT_FILES["learning_speed"]: lambda path: plots.plot_learning_speed(
            history, path, initial=outcome.get("initial_learning_speed"), config=config),
        PLOT_FILES["confusion_matrix"]: lambda path: plots.plot_confusion_matrix(
            outcome["confusion_matrix"], path, class_names=class_names(net), title=title, config=config),
    }
    shape = dataset.image_shape
    if shape is not None and shape[0] * shape[1] == net.sizes[0]:
        writers[PLOT_FILES["weights"]] = lambda path: plots.plot_first_layer_weights(
            net, shape, path, config=config)
    return writers


def run_files(plan: RunPlan, dataset: Dataset, net: Network, history: History,
              outcome: dict[str, Any]) -> FileWriters:
    """The files of the run directory, in the order they are written: the model, history, config,
    the report's snapshots (``snapshots.npz``, when ``history`` is a ``RecordedHistory`` holding
    some) and, unless ``--no-plots``, the plots."""
    writers: FileWriters = {
        MODEL_FILE: lambda path: io.save(net, path, extra_metadata=model_metadata(plan, dataset, outcome)),
        HISTORY_FILE: lambda path: write_json(path, history.as_dict()),
        CONFIG_FILE: lambda path: write_json(path, run_config(plan, dataset, net)),
    }
    snapshots = history.snapshots if isinstance(history, RecordedHistory) else None
    if snapshots is not None and snapshots.epochs:  # the report's histograms (deltaprop report)
        writers[SNAPSHOT_FILE] = snapshots.save
    if not plan.no_plots:
        writers.update(plot_writers(dataset, net, history, outcome))
    return writers


def kept_line(outcome: dict[str, Any]) -> str:
    """Which epoch the saved model is, and why: 'model saved from epoch 6 of 50: the best validation
    accuracy (--keep best)'."""
    epoch, epochs = outcome["kept_epoch"], outcome["epochs_run"]
    if outcome["keep"] == "best" and outcome["validation_accuracy"] is not None:
        why = "the best validation accuracy (--keep best)"
    elif outcome["keep"] == "best":
        why = "the last (no validation data to choose the best by)"
    else:
        why = "the last (--keep last)"
    return f"model saved from epoch {epoch} of {epochs}: {why}"


def report_training(outcome: dict[str, Any], files: list[str], final: Path) -> None:
    """The human-readable outcome: test (and validation) accuracy, why it stopped, where it went."""
    out = console()
    tested = [record for record in outcome["history"] if record["test_accuracy"] is not None]
    best_epoch = max(tested, key=lambda record: record["test_accuracy"], default=None)
    best = "" if best_epoch is None else (
        f" (best {percent(outcome['best_test_accuracy'])} at epoch {best_epoch['epoch']})")
    out.print(f"test accuracy: [bold]{percent(outcome['test_accuracy'])}[/]{best}")
    if outcome["validation_accuracy"] is not None:
        out.print(f"validation accuracy: {percent(outcome['validation_accuracy'])} "
                  f"(best {percent(outcome['best_validation_accuracy'])})")
    out.print(kept_line(outcome))
    if outcome["stop_reason"] != "completed":
        out.print(plain(f"stopped after {outcome['epochs_run']} epochs: {outcome['stop_reason']}", None))
    out.print(plain(f"trained in {outcome['seconds']:.1f} s; run saved to {safe(final)}: "
                    f"{', '.join(files)}", None), soft_wrap=True)
