"""The report's sections about training: configuration, curves, learning speed and saturation, the
histograms of w, z and δ, and the first layer's weights as images.

Each function takes the loaded run (``RunData``) and returns one ``<section>`` of HTML. Parts that
change with the epoch slider are ``<div class="snap" data-snap="i">`` blocks, one per snapshot; the
page's script shows the one the slider selects.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from deltaprop.limits import MAX_CHART_POINTS, MAX_REPORT_IMAGE_PIXELS, MAX_REPORT_LAYERS, thin
from deltaprop.recording import MAX_IMAGE_UNITS, QUANTITIES
from deltaprop.report.images import colour_bar, data_uri, img, tiles
from deltaprop.report.rundata import RunData
from deltaprop.report.svg import PALETTE, Series, esc, histogram_svg, line_chart, num

CLIP_QUANTILE = 0.99  # of |w|: the end of the weight images' colour scale
SATURATING = ("sigmoid", "tanh")  # activations whose saturation is a property of each z
QUANTITY_NAMES = {"weights": "weights w", "z": "weighted inputs z", "delta": "errors δ"}


def section(key: str, title: str, body: str, note: str = "") -> str:
    """A titled ``<section id=key>`` with an optional explanatory line."""
    lead = f'<p class="note">{note}</p>' if note else ""
    return f'<section id="{esc(key)}"><h2>{esc(title)}</h2>{lead}{body}</section>'


def missing(text: str) -> str:
    """The one line a section shows in place of what it could not draw."""
    return f'<p class="missing">{esc(text)}</p>'


def _value(value: Any) -> str:
    if isinstance(value, float):
        return num(value, 6)
    if isinstance(value, list | dict):
        return json.dumps(value)
    return "–" if value is None else str(value)


def key_values(title: str, values: Mapping[str, Any]) -> str:
    """A two-column table of ``values`` under a caption."""
    rows = "".join(f"<tr><th>{esc(key)}</th><td>{esc(_value(value))}</td></tr>"
                   for key, value in values.items())
    return f'<table class="kv"><caption>{esc(title)}</caption>{rows}</table>'


def kept_epoch(run: RunData) -> int | None:
    """The epoch the model holds, as its metadata names it (``deltaprop train``'s ``kept_epoch``);
    None when it names none (runs that predate it keep the last) or names no epoch of the history."""
    kept = run.meta.get("kept_epoch")
    if isinstance(kept, bool) or not isinstance(kept, int):
        return None
    if run.records and all(record.get("epoch") != kept for record in run.records):
        return None
    return kept


def _kept_note(run: RunData) -> str:
    """The curves' line saying which epoch the model is: with keep 'best' the best validation one."""
    kept = kept_epoch(run)
    if kept is None:
        return ""
    keep = (run.meta.get("training") or {}).get("keep")
    why = " (keep 'best': its validation accuracy is the best)" if keep == "best" and any(
        record.get("validation_accuracy") is not None for record in run.records) else ""
    return f" The model saved is epoch {kept}'s{why}."


def config_section(run: RunData) -> str:
    """The network, the training options, the data and the run's provenance."""
    net, meta, config = run.net, run.meta, run.config
    network = {"sizes": list(net.sizes), "activations": net.activation_names,
               "cost": net.cost_function.name, "init": config.get("network", {}).get("init", "–"),
               "dtype": net.dtype.name, "parameters": f"{net.num_parameters:,}"}
    data = {"data set": meta.get("dataset"), "spec": meta.get("data_spec"),
            "data dir": (config.get("options") or {}).get("data_dir"),
            "image shape": meta.get("image_shape"), "classes": meta.get("n_classes")}
    data.update({f"{name} rows": rows for name, rows in config.get("dataset", {}).get("rows", {}).items()})
    run_info = {"directory": str(run.path), "command": config.get("command", "–"),
                "created": config.get("created", "–"),
                "deltaprop": meta.get("deltaprop_version"), "epochs run": len(run.records),
                "kept epoch": kept_epoch(run), "stop reason": run.stop_reason or "–"}
    training = meta.get("training") or config.get("training") or {}
    tables = [key_values("network", network), key_values("training", training),
              key_values("data", data), key_values("run", run_info)]
    notes = "".join(missing(f"{part}: {why}") for part, why in run.problems.items()
                    if part in ("history", "config"))
    return section("configuration", "Configuration", f'<div class="row">{"".join(tables)}</div>{notes}')


def _series(records: list[dict[str, Any]], key: str) -> list[Any]:
    """The values of ``key``, at most ``MAX_CHART_POINTS`` of them (evenly thinned, the last kept)."""
    return [records[i].get(key) for i in thin(len(records), MAX_CHART_POINTS)]


def shown_layers(layers: int) -> list[int]:
    """The layers the report draws: all, or the first ``MAX_REPORT_LAYERS`` - 1 and the output."""
    return list(range(layers)) if layers <= MAX_REPORT_LAYERS else \
        [*range(MAX_REPORT_LAYERS - 1), layers - 1]


def _layers_note(layers: int) -> str:
    shown = shown_layers(layers)
    return "" if len(shown) == layers else \
        f" Of the {layers:,} layers, the first {len(shown) - 1} and the output layer are drawn."


def curves_section(run: RunData) -> str:
    """Cost and accuracy per epoch on each split, values on hover."""
    if not run.records:
        return section("curves", "Cost and accuracy", missing("No history.json: no curves."))
    epochs = _series(run.records, "epoch")
    splits = ("train", "validation", "test")
    cost = line_chart([(s, epochs, _series(run.records, f"{s}_cost")) for s in splits],
                      "cost per epoch (with regularization)")
    accuracy = line_chart([(s, epochs, _series(run.records, f"{s}_accuracy")) for s in splits],
                          "accuracy per epoch", percent=True)
    return section("curves", "Cost and accuracy", f'<div class="row">{cost}{accuracy}</div>'
                   '<p class="readout" aria-live="polite">Point at a dot to read its value.</p>',
                   "Train values are running means over each epoch's mini-batches unless "
                   "train_metrics is 'full'." + _kept_note(run))


def _per_layer(run: RunData, key: str) -> list[Series]:
    """One series per layer of the per-layer list ``key`` of the history's records."""
    layers, epochs = run.net.num_layers, _series(run.records, "epoch")
    rows = [row or [None] * layers for row in _series(run.records, key)]
    return [(f"layer {i + 1}" + (" (output)" if i == layers - 1 else ""), epochs,
             [row[i] if i < len(row) else None for row in rows]) for i in shown_layers(layers)]


def speed_section(run: RunData) -> str:
    """Per-layer learning speed ‖∂C/∂b^l‖ and saturation over the epochs."""
    if not run.records:
        return section("speed", "Learning speed and saturation", missing("No history.json: not recorded."))
    speed = line_chart(_per_layer(run, "learning_speed"), "learning speed ‖∂C/∂b‖ (log scale)", log=True)
    saturation = line_chart(_per_layer(run, "saturation"), "saturated units", percent=True)
    return section("speed", "Learning speed and saturation", f'<div class="row">{speed}{saturation}</div>'
                   '<p class="readout" aria-live="polite">Point at a dot to read its value.</p>',
                   "Learning speed: the norm of the epoch's mean bias gradient per layer (early layers "
                   "of deep sigmoid nets learn slower: Nielsen, ch. 5). Saturated: sigmoid or tanh units "
                   "with σ'(z) under 1% of its maximum, or dead ReLUs." + _layers_note(run.net.num_layers))


def slider(run: RunData) -> str:
    """The epoch slider that moves the histograms and weight images (nothing without snapshots)."""
    snapshots = run.snapshots
    if snapshots is None or not snapshots.epochs:
        return ""
    last = len(snapshots.epochs) - 1
    epochs = json.dumps(snapshots.epochs)
    return (f'<div id="epoch-control" class="control"><label for="epoch-slider">epoch of the '
            f'histograms and weight images</label> <input type="range" id="epoch-slider" min="0" '
            f'max="{last}" step="1" value="{last}" data-epochs="{esc(epochs)}"> '
            f'<output id="epoch-label" for="epoch-slider">epoch {snapshots.epochs[-1]}</output></div>')


def _snap(index: int, last: int, body: str) -> str:
    hidden = "" if index == last else " hidden"
    return f'<div class="snap" data-snap="{index}"{hidden}>{body}</div>'


def saturated_bars(run: RunData, layer: int, edges: np.ndarray) -> np.ndarray | None:
    """Which bars of a z histogram of ``layer`` lie where its sigmoid or tanh saturates (σ'(z)
    below 1% of its peak, as the history's saturation counts); None for other activations."""
    activation = run.net.activations[layer]
    if activation.name not in SATURATING:
        return None
    middles = ((edges[:-1] + edges[1:]) / 2).reshape(-1, 1)
    outputs = activation.forward(middles, out=np.empty_like(middles))
    return np.array([activation.saturation(z, a) == 1.0 for z, a in
                     zip(middles[:, None], outputs[:, None], strict=True)])


def histogram_section(run: RunData) -> str:
    """Per layer, histograms of w, z and δ on the sample rows, one block per recorded epoch."""
    title = "Weights, weighted inputs and errors, layer by layer"
    snapshots = run.snapshots
    if snapshots is None:
        why = run.problems.get("snapshots", "")
        return section("histograms", title, missing(f"Histograms not recorded for this run ({why}); "
                                                    f"runs of 'deltaprop train' record them."))
    blocks, last = [], len(snapshots.epochs) - 1
    for index, epoch in enumerate(snapshots.epochs):
        rows = []
        for layer in shown_layers(run.net.num_layers):
            cells = []
            for k, q in enumerate(QUANTITIES):
                edges = np.asarray(snapshots.edges[q][index][layer])
                marked = saturated_bars(run, layer, edges) if q == "z" else None
                cells.append(histogram_svg(np.asarray(snapshots.counts[q][index][layer]), edges,
                                           QUANTITY_NAMES[q], PALETTE[k], marked=marked,
                                           marked_label="saturated: σ'(z) < 1% of its peak"))
            name = f"layer {layer + 1}: {run.net.sizes[layer + 1]} {run.net.activation_names[layer]}"
            rows.append(f'<div class="layer"><h3>{esc(name)}</h3>'
                        f'<div class="row">{"".join(cells)}</div></div>')
        heading = f'<p class="snap-epoch">epoch {epoch}{" (initialization)" if epoch == 0 else ""}</p>'
        blocks.append(_snap(index, last, heading + "".join(rows)))
    note = (f"Recorded during training on {snapshots.rows} fixed training rows: z and δ per example "
            f"(δ of that example's own cost, BP1-BP2), weights of the whole layer. Each histogram "
            f"spans its own range, from the 0.5th to the 99.5th percentile of its values (the end bars "
            f"also count the values beyond); point at a bar for its count. Dark bars of z: where a sigmoid "
            f"or tanh unit saturates (σ'(z) under 1% of its peak), so that by BP1 and BP2 its δ, and "
            f"the learning of its weights and bias, is small. Move the slider to change the epoch."
            + _layers_note(run.net.num_layers))
    pairing = (run.net.cost_function.name, run.net.activation_names[-1])
    if pairing in (("cross_entropy", "sigmoid"), ("log_likelihood", "softmax")):
        note += (f" With the {run.net.cost_function.name} cost σ'(z) cancels from the output layer's "
                 f"δ^L = a − y (BP1), so saturated outputs still learn fast.")
    readout = '<p class="readout" aria-live="polite">Point at a bar to read it.</p>'
    return section("histograms", title, "".join(blocks) + readout, note)


def weights_section(run: RunData) -> str:
    """The first layer's weights as images, on one symmetric colour scale shared by every unit and
    epoch, with its colour bar; one image per recorded epoch (the slider moves them)."""
    title = "First layer's weights as images"
    shape = run.image_shape
    if shape is None:
        return section("weights", title, missing("The inputs are not images: no weight images."))
    units = min(MAX_IMAGE_UNITS, MAX_REPORT_IMAGE_PIXELS // (shape[0] * shape[1]))
    if units == 0:
        return section("weights", title, missing(f"Images of {shape[0]} x {shape[1]} pixels are too large "
                                                 f"to draw here (at most {MAX_REPORT_IMAGE_PIXELS:,})."))
    snapshots = run.snapshots
    stack = snapshots.first_layer if snapshots is not None and snapshots.first_layer else None
    if stack is None:
        images, epochs = [run.net.weights[0][:units]], ["final"]
    else:
        images, epochs = [np.asarray(w)[:units] for w in stack], [str(e) for e in snapshots.epochs]
    magnitudes = np.abs(np.concatenate([w.ravel() for w in images]))
    largest = float(magnitudes.max())
    vmax = float(np.quantile(magnitudes, CLIP_QUANTILE)) or largest or 1.0
    width = 2 * max(160, 10 * (shape[1] + 1) * max(1, 28 // max(shape)))
    blocks = []
    for index, (weights, epoch) in enumerate(zip(images, epochs, strict=True)):
        picture = img(data_uri(tiles(weights, shape, vmax)), f"first-layer weights at epoch {epoch}", width)
        body = f'<p class="snap-epoch">epoch {epoch}</p>{picture}'
        blocks.append(_snap(index, len(images) - 1, body) if stack is not None else body)
    shown = images[0].shape[0]
    note = (f"Unit j's image shows w^1_jk for each input pixel k ({shown} of {run.net.sizes[1]} units), "
            f"red positive, blue negative, every unit and epoch on one symmetric scale: ±{num(vmax, 3)}, "
            f"the {100 * CLIP_QUANTILE:g}th percentile of |w| (the largest, {num(largest, 3)}, and the "
            f"few beyond ±{num(vmax, 3)} show at full colour).")
    if stack is None:
        note += " Only the final weights: no snapshots were recorded."
    return section("weights", title, "".join(blocks) + colour_bar(vmax, "weight w^1_jk"), note)
