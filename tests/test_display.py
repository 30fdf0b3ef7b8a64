"""deltaprop in Jupyter: the HTML of a Network, a History, an explain trace and a run's report
(drawn by the report's own renderers, untrusted text escaped, no script), the IPython formatters
registered when deltaprop is imported inside IPython, and the live view of ``fit(progress=True)``."""

from __future__ import annotations

import dataclasses
import html
import re
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from helpers import trained_run

import deltaprop
from deltaprop import trainer
from deltaprop.datasets import load_digits
from deltaprop.errors import TrainingInterrupted
from deltaprop.report import show
from deltaprop.report.explain_html import SHOWN, explanation_html
from deltaprop.report.live import LiveTraining, in_notebook, notebook_progress, register_live_progress
from deltaprop.report.notebook import register
from deltaprop.report.page import STYLE, write_report
from deltaprop.report.svg import num
from deltaprop.report.views import SCOPE, history_html, network_html, scoped_style
from deltaprop.trainer import LIVE_PROGRESS, LiveProgress

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def digits():
    return load_digits()


@pytest.fixture(scope="module")
def trained(digits):
    net = deltaprop.Network([64, 12, 10], seed=0)
    history = deltaprop.fit(net, *digits.train, epochs=3, seed=0, validation_data=digits.validation)
    return net, history


@pytest.fixture()
def makers():
    """LIVE_PROGRESS emptied for the test and restored after it."""
    saved = list(LIVE_PROGRESS)
    LIVE_PROGRESS.clear()
    yield LIVE_PROGRESS
    LIVE_PROGRESS[:] = saved


def _no_script(page: str) -> None:
    assert "<script" not in page.lower() and "javascript:" not in page.lower()


# -- the views ----------------------------------------------------------------------------------------

def test_the_report_style_is_scoped_to_the_view():
    scoped = scoped_style(STYLE)
    rules = [rule.strip() for rule in scoped.split("}") if rule.strip()]
    assert len(rules) > 10
    for rule in rules:
        selectors = rule.split("{")[0]
        assert all(s.strip().startswith(f".{SCOPE}") for s in selectors.split(",")), rule
    assert "@media" not in scoped and f".{SCOPE} .tk" in scoped
    assert re.search(rf"\.{SCOPE} \{{ font-family", scoped)  # :root became the view itself


def test_a_small_network_shows_every_unit_and_its_facts():
    net = deltaprop.Network([3, 4, 2], cost="quadratic", seed=1)
    page = network_html(net)
    assert page.startswith(f'<div class="{SCOPE}"><style>')
    assert page.count('class="unit tip"') == 3 + 4 + 2
    assert "3 → 4 → 2" in page and "quadratic" in page and ">26<" in page
    assert f"bias {num(float(net.biases[0][2]))}" in page
    _no_script(page)


def test_a_large_network_is_drawn_as_blocks():
    page = network_html(deltaprop.Network([784, 100, 10], seed=0))
    assert page.count('class="block"') == 3 and 'class="unit' not in page
    assert "78,400 weights" in page and "79,510" in page


def test_class_labels_are_escaped():
    net = deltaprop.Network([2, 3, 2], seed=0, classes=["<script>alert(1)</script>", "b&c"])
    page = network_html(net)
    _no_script(page)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "b&amp;c" in page


def test_a_history_shows_its_curves_and_one_line(trained):
    _, history = trained
    page = history_html(history)
    assert page.count("<svg") == 3  # cost, accuracy, learning speed
    assert "cost per epoch" in page and "accuracy per epoch" in page and "learning speed" in page
    assert page.count('class="pt tip"') == 3 * 2 * 2 + 3 * 2  # two splits, two layers, 3 epochs
    validation = history["validation_accuracy"][-1]
    assert f"validation_accuracy {num(validation)}" in repr(history)
    assert repr(history).startswith("History: 3 epochs (completed)")
    _no_script(page)


def test_an_empty_history_says_so():
    page = history_html(deltaprop.History())
    assert "no epoch recorded" in page and "<svg" not in page


def test_a_regression_history_has_no_accuracy_chart():
    net = deltaprop.Network([1, 1], cost="quadratic", seed=0)
    history = deltaprop.fit(net, np.ones((4, 1)), np.zeros((4, 1)), epochs=2, batch_size=2, eta=0.1)
    page = history_html(history)
    assert "cost per epoch" in page and "accuracy per epoch" not in page


def test_a_trace_shows_each_quantity_beside_its_equation():
    net = deltaprop.Network([3, 4, 2], cost="quadratic", seed=1)
    trace = deltaprop.explain(net, np.array([0.1, 0.5, 0.9]), 1)
    page = explanation_html(trace)
    for equation in ("BP1: ∇<sub>a</sub>C ⊙ σ'(z<sup>L</sup>)", "BP2: ((w<sup>2</sup>)ᵀ δ<sup>2</sup>)",
                     "BP3: δ<sup>1</sup>", "BP4: ∂C/∂w<sup>2</sup><sub>jk</sub>", "(feedforward)"):
        assert equation in page, equation
    for layer in trace.layers:
        for values in (layer.z, layer.a, layer.delta, layer.nabla_b):
            assert all(f"<td>{num(float(v))}</td>" in page for v in values)
        assert all(f"<td>{num(float(v))}</td>" in page for v in layer.nabla_w.ravel())
    assert f"largest relative error {num(trace.finite_difference_max_error, 3)}" in page
    assert "26 of 26" in page and "One SGD step" in page and "sum over 2 paths" in page
    assert repr(trace).startswith("Explanation of one example through BP1-BP4")
    _no_script(page)


def test_a_large_trace_writes_out_the_first_units_and_counts_the_rest(digits):
    net = deltaprop.Network([64, 30, 10], seed=0)
    page = explanation_html(deltaprop.explain(net, digits.test.X[0], digits.test.y[0]))
    assert f"… {64 - SHOWN} more" in page and f"… {30 - SHOWN} more rows" in page
    assert f"<th>j = {SHOWN}</th>" not in page


def test_callouts_are_escaped():
    net = deltaprop.Network([2, 2], cost="quadratic", seed=0)
    trace = dataclasses.replace(deltaprop.explain(net, np.array([0.5, 0.5]), 0),
                                callouts=["<img src=x onerror=alert(1)>"])
    page = explanation_html(trace)
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "<img" not in page


def test_a_softmax_output_names_its_jacobian():
    net = deltaprop.Network([3, 2, 3], cost="log_likelihood", seed=0)
    page = explanation_html(deltaprop.explain(net, np.array([0.1, 0.2, 0.3]), 2))
    assert "softmax Jacobian" in page and "σ'(z<sup>2</sup>)" not in page


# -- a run's report ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    return trained_run(tmp_path_factory.mktemp("show") / 'run "<b>x</b>"')


def test_show_is_the_report_page_in_a_frame(run_dir, tmp_path):
    view = show(run_dir)
    written = write_report(run_dir, tmp_path / "report.html")
    assert view.page == written.read_text(encoding="utf-8")  # one renderer: the same page
    frame = view._repr_html_()
    match = re.fullmatch(r'<iframe srcdoc="([^"]*)" title="([^"]*)" style="[^"]*"></iframe>', frame)
    assert match is not None
    assert html.unescape(match.group(1)) == view.page
    assert html.unescape(match.group(2)) == f"deltaprop report: {run_dir.name}"
    assert "<b>" not in match.group(2)
    assert repr(view).startswith("ReportView(") and "bytes" in repr(view)


def test_show_refuses_what_is_not_a_run(tmp_path):
    with pytest.raises(FileNotFoundError):
        show(tmp_path / "nothing")


def test_show_and_the_written_report_share_the_size_bound(run_dir, tmp_path, monkeypatch):
    from deltaprop.report import page

    monkeypatch.setattr(page, "MAX_REPORT_BYTES", 1000)
    for make in (lambda: show(run_dir), lambda: write_report(run_dir, tmp_path / "small.html")):
        with pytest.raises(ValueError, match="more than the limit of"):
            make()
    assert not (tmp_path / "small.html").exists()


# -- IPython -----------------------------------------------------------------------------------------

def test_register_gives_ipython_the_html_and_short_text(makers, trained):
    formatters = pytest.importorskip("IPython.core.formatters")
    shell = types.SimpleNamespace(display_formatter=formatters.DisplayFormatter())
    register(shell)
    register(shell)  # twice changes nothing
    net, history = trained
    data, _ = shell.display_formatter.format(net)
    assert data["text/html"] == network_html(net) and data["text/plain"] == repr(net)
    data, _ = shell.display_formatter.format(history)
    assert data["text/html"] == history_html(history) and data["text/plain"] == repr(history)
    trace = deltaprop.explain(net, np.zeros(64), 3)
    data, _ = shell.display_formatter.format(trace)
    assert data["text/html"] == explanation_html(trace) and data["text/plain"] == repr(trace)
    assert makers == [notebook_progress]


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)


def test_plain_import_loads_neither_ipython_nor_the_report():
    result = _python("import sys, deltaprop; print(sorted(m for m in sys.modules "
                     "if m.startswith(('IPython', 'deltaprop.report'))))")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_importing_deltaprop_inside_ipython_registers_the_formatters():
    pytest.importorskip("IPython")
    result = _python(
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "shell = InteractiveShell.instance()\n"
        "import deltaprop\n"
        "from deltaprop.trainer import LIVE_PROGRESS\n"
        "data, _ = shell.display_formatter.format(deltaprop.Network([2, 3, 1], seed=0))\n"
        "print('<svg' in data['text/html'], len(LIVE_PROGRESS))\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "1"]


@pytest.mark.parametrize(("shell_class", "config", "expected"), [
    ("ZMQInteractiveShell", {}, True), ("TerminalInteractiveShell", {}, False),
    ("Other", {"IPKernelApp": {}}, True), (None, {}, False)])
def test_a_notebook_is_a_jupyter_kernel(monkeypatch, shell_class, config, expected):
    shell = None if shell_class is None else type(shell_class, (), {"config": config})()
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))
    assert in_notebook() is expected
    assert isinstance(notebook_progress(5), LiveTraining) is expected


def test_outside_ipython_there_is_no_notebook(monkeypatch):
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    assert not in_notebook()


# -- the live view --------------------------------------------------------------------------------------

class Handle:
    """What ``IPython.display.display(..., display_id=True)`` returns, recording each update."""

    def __init__(self, shown: list[dict[str, str]]) -> None:
        self.shown = shown

    def update(self, bundle: dict[str, str], raw: bool = False) -> None:
        assert raw
        self.shown.append(bundle)


@pytest.fixture()
def shown(monkeypatch) -> list[dict[str, str]]:
    """The bundles a live view displays, with IPython's display replaced by a recorder."""
    display_module = pytest.importorskip("IPython.display")
    bundles: list[dict[str, str]] = []

    def display(bundle, raw=False, display_id=False):
        assert raw and display_id is True
        bundles.append(bundle)
        return Handle(bundles)

    monkeypatch.setattr(display_module, "display", display)
    return bundles


@pytest.mark.parametrize("every_step", [True, False])
def test_the_live_view_draws_the_bar_the_table_and_the_curves(digits, shown, every_step):
    view = LiveTraining(3, redraw_seconds=0.0 if every_step else 1e9)
    history = deltaprop.fit(deltaprop.Network([64, 10, 10], seed=0), *digits.train, epochs=3, seed=0,
                            validation_data=digits.validation, progress=view)
    total = 3 * -(-digits.train.y.size // 10)  # mini-batches of 10
    assert len(shown) == view.updates == 1 + (total if every_step else 0) + 3 + 1  # begin, epochs, end
    assert view.records == history.records
    last = shown[-1]["text/html"]
    assert f'<progress value="{total}" max="{total}"' in last
    assert last.count("<tr>") == 1 + 3 and last.count("<svg") == 3
    assert shown[-1]["text/plain"].startswith(f"done: 3 epochs, {total} mini-batches in")
    first = shown[0]["text/html"]
    assert f'<progress value="0" max="{total}"' in first and "<svg" not in first
    _no_script(last)


def test_the_table_keeps_the_last_epochs(digits, shown):
    view = LiveTraining(12, redraw_seconds=1e9)
    deltaprop.fit(deltaprop.Network([64, 5, 10], seed=0), *digits.train, epochs=12, seed=0, progress=view)
    last = shown[-1]["text/html"]
    assert last.count("<tr>") == 1 + 10 and "The 2 epochs before are in the curves" in last
    assert "<td>3</td>" in last and "validation_cost" not in last


class Recorder(LiveProgress):
    """A live view that records what fit calls."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def begin(self, total, batches_per_epoch):
        self.calls.append(("begin", total, batches_per_epoch))

    def step(self):
        self.calls.append(("step",))

    def epoch_done(self, record):
        self.calls.append(("epoch", record["epoch"]))

    def end(self):
        self.calls.append(("end",))


@pytest.mark.parametrize(("progress", "verbose"), [(True, 0), (False, 1), (True, 1)])
def test_fit_shows_a_registered_view_instead_of_the_terminal_bar(makers, digits, capsys, progress,
                                                                  verbose):
    views: list[Recorder] = []
    makers.append(lambda epochs: views.append(Recorder()) or views[-1])
    deltaprop.fit(deltaprop.Network([64, 5, 10], seed=0), *digits.train, epochs=2, batch_size=100,
                  seed=0, progress=progress, verbose=verbose)
    (view,) = views
    batches = -(-digits.train.y.size // 100)
    assert view.calls[0] == ("begin", 2 * batches, batches) and view.calls[-1] == ("end",)
    assert [c for c in view.calls if c[0] == "epoch"] == [("epoch", 1), ("epoch", 2)]
    assert sum(c == ("step",) for c in view.calls) == 2 * batches
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_without_a_view_the_terminal_keeps_its_bar_and_lines(makers, digits, capsys):
    asked: list[int] = []
    makers.append(lambda epochs: asked.append(epochs))  # None: no view here
    deltaprop.fit(deltaprop.Network([64, 5, 10], seed=0), *digits.train, epochs=2, batch_size=100,
                  seed=0, progress=True, verbose=2)
    assert asked == [2]
    assert capsys.readouterr().out.count("epoch ") == 2
    deltaprop.fit(deltaprop.Network([64, 5, 10], seed=0), *digits.train, epochs=1, verbose=2)
    assert asked == [2]  # no progress asked: no view made


def test_the_view_ends_when_training_is_interrupted(makers, digits):
    view = Recorder()
    with pytest.raises(TrainingInterrupted):
        deltaprop.fit(deltaprop.Network([64, 5, 10], seed=0), *digits.train, epochs=2, batch_size=100,
                      progress=view, should_stop=lambda: True)
    assert view.calls[-1] == ("end",) and ("step",) in view.calls


def test_the_estimators_keep_scikit_learns_verbose(makers, digits, capsys):
    from deltaprop.sklearn import MLPClassifier

    makers.append(lambda epochs: pytest.fail("the estimators must not show a live view"))
    with pytest.warns(Warning):
        MLPClassifier(hidden_layer_sizes=(5,), max_iter=2, verbose=True, random_state=0).fit(*digits.train)
    assert capsys.readouterr().out.startswith("Iteration 1, loss = ")


def test_register_live_progress_adds_the_maker_once(makers):
    register_live_progress()
    register_live_progress()
    assert makers == [notebook_progress]
    assert trainer.live_progress(3) is None  # pytest is no Jupyter kernel
