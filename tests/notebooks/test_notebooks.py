"""The chapter-2 notebooks: stored without outputs, each running from top to bottom in a real kernel
in under 60 s, and showing what their text says (the HTML of deltaprop's objects, the live view of
training, the numbers checked)."""

from __future__ import annotations

import json
import re

import pytest
from notebook_support import NAMES, NOTEBOOKS

SECONDS = 60  # the most a notebook may take, on this project's 2-core machine


@pytest.mark.parametrize("name", NAMES)
def test_notebooks_are_stored_without_outputs(name):
    notebook = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text(encoding="utf-8"))
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert code
    for cell in code:
        assert cell["outputs"] == [], "".join(cell["source"])[:80]
        assert cell["execution_count"] is None, "".join(cell["source"])[:80]


def test_every_notebook_is_tested():
    assert sorted(path.stem for path in NOTEBOOKS.glob("*.ipynb")) == sorted(NAMES)


def _cell(notebook, marker: str):
    """The one code cell whose source holds ``marker``."""
    cells = [cell for cell in notebook.cells if cell.cell_type == "code" and marker in cell.source]
    assert len(cells) == 1, marker
    return cells[0]


def _text(cell) -> str:
    return "".join(output.text for output in cell.outputs if output.output_type == "stream")


def _shown(cell, kind: str = "text/html") -> list[str]:
    return [output.data[kind] for output in cell.outputs
            if output.output_type in ("display_data", "execute_result") and kind in output.data]


def _numbers(pattern: str, text: str) -> list[float]:
    found = [float(value.replace(",", "")) for value in re.findall(pattern, text)]
    assert found, pattern
    return found


@pytest.mark.parametrize("name", NAMES)
def test_each_notebook_runs_in_under_a_minute_without_errors(executed, name):
    notebook, seconds = executed[name]
    assert seconds < SECONDS
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert all(output.output_type != "error" for output in cell.outputs)
            assert all(output.get("name") != "stderr" for output in cell.outputs), _text(cell)


def _live_view(cell, epochs: int) -> str:
    """The one display of a fit(progress=True) cell: the live view, updated in place to its end."""
    (view,) = _shown(cell)
    assert len(cell.outputs) == 1  # no terminal bar, no printed lines
    assert re.search(r'<progress value="(\d+)" max="\1"', view)  # the bar is full
    assert f"done: {epochs} epochs" in view and view.count("<svg") >= 2
    return view


def test_backprop_notebook(executed):
    notebook, _ = executed["backprop"]
    (diagram,) = _shown(_cell(notebook, 'net = deltaprop.Network([3, 4, 2], cost="quadratic"'))
    assert "<svg" in diagram and "3 → 4 → 2" in diagram and diagram.count('class="unit tip"') == 9
    checks = _text(_cell(notebook, "def cost_from("))
    assert len(re.findall(r"^BP[1-4]: ", checks, re.M)) == 6
    assert max(_numbers(r"relative error ([\d.e+-]+)", checks)) < 1e-6
    trace = _cell(notebook, "trace = deltaprop.explain(net, x, y)")
    assert _numbers(r"deltaprop: ([\d.e+-]+)", _text(trace))[0] < 1e-12
    (trace_html,) = _shown(trace)
    assert all(f"BP{i}" in trace_html for i in range(1, 5))
    matrix = _text(_cell(notebook, "matrix_w = "))
    assert max(_numbers(r":\s+([\d.e+-]+)", matrix)) < 1e-12
    speed = _text(_cell(notebook, "deltaprop.gradcheck("))
    assert _numbers(r"finite differences: ([\d,]+) forward passes", speed) == [4520]
    assert _numbers(r"was (\d+) times faster", speed)[0] > 10
    assert _numbers(r"agree to ([\d.e+-]+)", speed)[0] < 1e-5
    live = _live_view(_cell(notebook, "progress=True"), 10)
    assert live.count("<tr>") == 1 + 10
    history = _cell(notebook, "test accuracy: ")
    assert _numbers(r"test accuracy: ([\d.]+)", _text(history))[0] > 0.9
    assert _shown(history, "text/plain")[0].startswith("History: 10 epochs (completed)")
    report = _cell(notebook, "report.show(run)")
    assert "run saved to" in _shown(report, "text/plain")[-2]  # the command's own lines, then the page
    frame = report.outputs[-1].data["text/html"]
    assert report.outputs[-1].output_type == "execute_result"
    assert frame.startswith('<iframe srcdoc="&lt;!DOCTYPE html&gt;') and "deltaprop report: digits" in frame


def test_saturation_notebook(executed):
    notebook, _ = executed["saturation"]
    deltas = _text(_cell(notebook, "delta[cost] = output.delta[0]"))
    assert _numbers(r"error is (\d+) times smaller", deltas)[0] > 20
    (trace,) = _shown(_cell(notebook, 'deltaprop.explain(neuron("quadratic"), X[0], Y[0])'))
    assert "learning slowdown the cross-entropy cost removes" in trace
    outputs = _text(_cell(notebook, "def train(cost"))
    after_50 = re.search(r"after  50 epochs: output ([\d.]+) with the quadratic cost, ([\d.]+)", outputs)
    assert float(after_50.group(1)) > 0.9 and float(after_50.group(2)) < 0.2
    slower = _text(_cell(notebook, "vanishing_gradient(images"))
    assert len(_numbers(r"is ([\d.]+) to", slower)) == 3 and min(_numbers(r"is ([\d.]+) to", slower)) > 2
    figures = [o for cell in notebook.cells if cell.cell_type == "code" for o in _shown(cell, "image/png")]
    assert len(figures) == 2
    _live_view(_cell(notebook, "progress=True"), 15)
    (history,) = _shown(_cell(notebook, 'history[-1]["saturation"]'))
    assert "learning speed" in history and "layer 4 (output)" in history


def test_from_scikit_learn_notebook(executed):
    notebook, _ = executed["from-scikit-learn"]
    scikit_learn = _text(_cell(notebook, "sk = MLPClassifier(**settings)"))
    deltaprop = _text(_cell(notebook, "dp = MLPClassifier(**settings)"))
    pattern = r"test accuracy (0\.\d+), final loss (\d\.\d+)"
    assert re.search(pattern, scikit_learn).groups() == re.search(pattern, deltaprop).groups()
    same = _text(_cell(notebook, "loss_gap = "))
    assert max(_numbers(r"(?:curves \(50 epochs\)|weights): ([\d.e+-]+)", same)) < 1e-12
    assert "predictions that agree: 100%" in same
    speed = _text(_cell(notebook, "def fastest_fit("))
    assert len(_numbers(r"([\d.]+) ms", speed)) == 3 and min(_numbers(r"([\d.]+) ms", speed)) > 0
    (network,) = _shown(_cell(notebook, "net = dp.network_"))
    assert "64 → 30 → 10" in network and "relu, softmax" in network
    (trace,) = _shown(_cell(notebook, "deltaprop.explain(net, X_test[0]"))
    assert "softmax Jacobian" in trace and "log_likelihood" in trace
