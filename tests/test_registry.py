"""One registry per idea, one rule per value, and the training options made from them."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import deltaprop
from deltaprop._validation import FRACTION, POSITIVE_INT
from deltaprop.checkpoint import Checkpoint
from deltaprop.errors import TrainingInterrupted
from deltaprop.optimizers import OPTIMIZERS, RMSprop
from deltaprop.options import OPTIONS, TrainingConfig
from deltaprop.registry import Registry


def _blobs(m=60, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(m) % 3
    return rng.uniform(size=(m, 4)) + y[:, None] * 0.5, y


def test_an_unknown_name_lists_the_known_and_the_closest():
    registry: Registry[int] = Registry("colour")
    registry.register("red", 1)
    registry.register("green", 2)
    with pytest.raises(ValueError, match=r"unknown colour 'gren'; expected one of \['green', 'red'\] "
                                         r"\(did you mean 'green'\?\)"):
        registry.get_entry("gren")
    assert registry.get_entry("red") == 1 and list(registry) == ["red", "green"]


def test_a_rule_checks_values_and_parses_text_alike():
    assert POSITIVE_INT.parse("3") == POSITIVE_INT.check("epochs", 3) == 3
    with pytest.raises(ValueError, match="expected a number in \\[0, 1\\), got '1'"):
        FRACTION.parse("1")
    with pytest.raises(ValueError, match="momentum must be a finite number >= 0 and < 1"):
        FRACTION.check("momentum", 1.0)
    with pytest.raises(TypeError, match="epochs must be an integer"):
        POSITIVE_INT.check("epochs", True)


def test_the_training_options_are_the_run_options_and_each_optimizers_options():
    names = [option.name for option in OPTIONS]
    assert len(names) == len(set(names))
    for cls in OPTIMIZERS.values():
        assert {option.name for option in cls.options} <= set(names)
    assert [f.name for f in dataclasses.fields(TrainingConfig)] == names


def test_a_config_is_frozen_and_its_eta_is_the_optimizers():
    config = TrainingConfig(optimizer="rmsprop")
    assert config.eta == RMSprop.default_eta == 0.01
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.eta = 1.0
    with pytest.raises(ValueError, match="nesterov needs a momentum > 0"):
        TrainingConfig(nesterov=True, checked=True)  # options that go together are always checked


def test_fit_takes_an_optimizer_instance_or_a_config_alike():
    X, y = _blobs()
    runs = []
    for how in ({"optimizer": RMSprop(0.02, momentum=0.5, centered=True)},
                {"optimizer": "rmsprop", "eta": 0.02, "momentum": 0.5, "centered": True},
                {"config": TrainingConfig(optimizer="rmsprop", eta=0.02, momentum=0.5, centered=True,
                                          epochs=30)}):
        net = deltaprop.Network([4, 5, 3], seed=1)
        deltaprop.fit(net, X, y, **how)
        assert net.training_config["optimizer"] == "rmsprop" and net.training_config["centered"]
        runs.append(net.weights + net.biases)
    for other in runs[1:]:
        for a, b in zip(runs[0], other, strict=True):
            np.testing.assert_array_equal(a, b)


def test_fit_refuses_a_config_with_options_and_unknown_options():
    X, y = _blobs()
    net = deltaprop.Network([4, 5, 3], seed=1)
    with pytest.raises(ValueError, match="a config or training options, got both"):
        deltaprop.fit(net, X, y, config=TrainingConfig(), epochs=3)
    with pytest.raises(TypeError, match="unknown options \\['colour'\\]"):
        deltaprop.fit(net, X, y, colour=3)


@pytest.mark.parametrize("options", [{"momentum": 0.9}, {"centered": True, "momentum": 0.5}, {}])
def test_rmsprop_resumes_exactly_from_a_checkpoint(tmp_path, options):
    X, y = _blobs()
    straight = deltaprop.Network([4, 5, 3], seed=1)
    deltaprop.fit(straight, X, y, epochs=3, optimizer="rmsprop", **options)
    net, calls = deltaprop.Network([4, 5, 3], seed=1), [0]

    def stop_after_eight_batches() -> bool:
        calls[0] += 1
        return calls[0] == 8

    with pytest.raises(TrainingInterrupted):
        deltaprop.fit(net, X, y, epochs=3, optimizer="rmsprop", **options,
                      checkpoint=Checkpoint(tmp_path), should_stop=stop_after_eight_batches)
    resumed = deltaprop.Network([4, 5, 3], seed=7)
    deltaprop.fit(resumed, X, y, checkpoint=Checkpoint(tmp_path), resume=True)
    for a, b in zip(straight.weights + straight.biases, resumed.weights + resumed.biases, strict=True):
        np.testing.assert_array_equal(a, b)


def test_rmsprop_from_the_command_line_with_its_options(tmp_path, capsys):
    import json

    from deltaprop.cli import main

    out = tmp_path / "run"
    status = main(["train", "--optimizer", "rmsprop", "--rho", "0.9", "--centered", "--momentum", "0.5",
                   "--epochs", "2", "--hidden", "8", "--quiet", "--no-plots", "--out", str(out)])
    assert status == 0, capsys.readouterr().err
    training = deltaprop.load(out / "model.safetensors").training_config
    assert (training["optimizer"], training["rho"], training["centered"], training["eta"]) == (
        "rmsprop", 0.9, True, 0.01)
    assert json.loads((out / "config.json").read_text())["training"]["momentum"] == 0.5
    assert main(["train", "--optimizer", "rmsprop", "--rho", "1", "--out", str(tmp_path / "x")]) == 2
    assert "--rho" in capsys.readouterr().err and not (tmp_path / "x").exists()
