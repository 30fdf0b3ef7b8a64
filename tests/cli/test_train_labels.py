"""Labels of any kind through the command line: a CSV of named classes trains, and the model file
remembers the names, which predict and evaluate then show."""

from __future__ import annotations

import json

import numpy as np

import deltaprop
from tests.cli.support import assert_one_line_error, run

NAMES = ("cat", "dog", "owl")


def _csv(path, rng, names=NAMES, rows=150):
    centres = rng.normal(size=(len(names), 4))
    lines = ["a,b,c,d,label"]
    for i in range(rows):
        k = i % len(names)
        x = np.clip(0.5 + 0.2 * (centres[k] + 0.3 * rng.normal(size=4)), 0, 1)
        lines.append(",".join(f"{v:.4f}" for v in x) + f",{names[k]}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_named_classes_are_stored_and_predicted(capsys, tmp_path):
    data = _csv(tmp_path / "animals.csv", np.random.default_rng(0))
    code, out, err = run(capsys, "train", "--data", data, "--hidden", "8", "--epochs", "20",
                         "--out", tmp_path / "run", "--no-plots", "--json")
    assert code == 0, err
    net = deltaprop.load(tmp_path / "run" / "model.safetensors")
    assert net.classes.tolist() == sorted(NAMES)
    assert set(net.predict(np.full((5, 4), 0.5)).tolist()) <= set(NAMES)
    code, out, err = run(capsys, "evaluate", tmp_path / "run" / "model.safetensors", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["classes"] == sorted(NAMES)
    assert result["accuracy"] > 0.6


def test_evaluate_refuses_data_with_other_classes(capsys, tmp_path):
    rng = np.random.default_rng(1)
    data = _csv(tmp_path / "animals.csv", rng)
    code, _, err = run(capsys, "train", "--data", data, "--hidden", "8", "--epochs", "2",
                       "--out", tmp_path / "run", "--no-plots", "--quiet")
    assert code == 0, err
    other = _csv(tmp_path / "birds.csv", rng, names=("emu", "jay", "owl"))
    code, out, err = run(capsys, "evaluate", tmp_path / "run" / "model.safetensors",
                         "--data", other)
    assert_one_line_error(code, out, err, "classes", "emu")
