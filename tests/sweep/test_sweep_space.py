"""The space file: every mistake is one error naming its key; good spaces draw what they say."""

from __future__ import annotations

import pytest

from deltaprop import cli
from deltaprop.sweep import load_space
from deltaprop.sweep.space import Param, check_network_sizes, encode


class FakeTrial:
    """Draws the first choice, the low end of a range: enough to see what a Param asks for."""

    def __init__(self):
        self.asked = {}

    def suggest_categorical(self, name, choices):
        self.asked[name] = ("categorical", choices)
        return choices[-1]

    def suggest_int(self, name, low, high, step=1, log=False):
        self.asked[name] = ("int", low, high, step, log)
        return high

    def suggest_float(self, name, low, high, step=None, log=False):
        self.asked[name] = ("float", low, high, step, log)
        return low


BAD = [
    ({"data": {"scale": "zscore"}, "search": {"eta": {"low": 0.1, "high": 1.0}}}, "data.scale"),
    ({"search": {"eta": {"low": 0.0, "high": 1.0, "log": True}}}, "search.eta.low"),
    ({"search": {"eta": {"low": 1.0, "high": 0.5}}}, "search.eta.high"),
    ({"search": {"eta": {"low": 0.1}}}, "search.eta"),
    ({"search": {"eta": {"low": 0.1, "high": 1.0, "lgo": True}}}, "search.eta.lgo"),
    ({"search": {"eta": {"low": "a", "high": 1.0}}}, "search.eta.low"),
    ({"search": {"eta": 0.5}}, "search.eta"),
    ({"search": {"momentum": {"low": 0.0, "high": 1.0}}}, "search.momentum.high"),
    ({"search": {"epochs": {"low": 1.5, "high": 3}}}, "search.epochs"),
    ({"search": {"cost": {"low": 1, "high": 3}}}, "search.cost"),
    ({"search": {"cost": {"choices": ["quadratic", "nope"]}}}, "search.cost.choices[1]"),
    ({"search": {"hidden": {"choices": []}}}, "search.hidden.choices"),
    ({"search": {"hidden": {"choices": [[30], [0]]}}}, "search.hidden.choices[1]"),
    ({"search": {"hidden": {"choices": [[30], [30]]}}}, "search.hidden.choices"),
    ({"search": {"hidden": {"choices": [[30]], "log": True}}}, "search.hidden.log"),
    ({"search": {"dtype": {"choices": ["float32"]}}}, "search.dtype"),
    ({"search": {"etaa": {"low": 0.1, "high": 1.0}}}, "search.etaa"),
    ({"search": {}}, "[search]"),
    ({"fixed": {"eta": 0.5}, "search": {"eta": {"low": 0.1, "high": 1.0}}}, "search.eta"),
    ({"fixed": {"epochs": 0}, "search": {"eta": {"low": 0.1, "high": 1.0}}}, "fixed.epochs"),
    ({"fixed": {"optimizer": "lion"}, "search": {"eta": {"low": 0.1, "high": 1}}}, "fixed.optimizer"),
    ({"fixed": {"hidden": 30}, "search": {"eta": {"low": 0.1, "high": 1.0}}}, "fixed.hidden"),
    ({"fixed": {"bogus": 1}, "search": {"eta": {"low": 0.1, "high": 1.0}}}, "fixed.bogus"),
    ({"data": {"subset": 0}, "search": {"eta": {"low": 0.1, "high": 1.0}}}, "data.subset"),
    ({"data": {"spce": "digits"}, "search": {"eta": {"low": 0.1, "high": 1.0}}}, "data.spce"),
    ({"objective": {"metric": "test_accuracy"}, "search": {"eta": {"low": 0.1, "high": 1}}},
     "objective.metric"),
    ({"objective": {"metric": "speed"}, "search": {"eta": {"low": 0.1, "high": 1}}}, "objective.metric"),
    ({"objective": {"goal": "max"}, "search": {"eta": {"low": 0.1, "high": 1}}}, "objective.goal"),
    ({"serach": {}}, "[serach]"),
    # the model format's limits: a trial whose model could not be saved is never started
    ({"search": {"hidden": {"choices": [[30], [2] * 1000]}}}, "search.hidden.choices[1]"),
    ({"fixed": {"hidden": [2] * 1000}, "search": {"eta": {"low": 0.1, "high": 1}}}, "fixed.hidden"),
    ({"fixed": {"hidden": [100_000, 100_000]}, "search": {"eta": {"low": 0.1, "high": 1}}},
     "fixed.hidden"),
]


def test_the_largest_network_the_model_format_holds_passes():
    space = load_space({"fixed": {"hidden": [2] * 999}, "search": {"eta": {"low": 0.1, "high": 1}}})
    assert len(space.fixed["hidden"]) == 999


@pytest.mark.parametrize(("search", "key"), [
    ({"hidden": {"low": 10, "high": 10_000_000}}, "search.hidden.high"),
    ({"hidden": {"low": 10, "high": 10_000_000, "step": 10}}, "search.hidden.high"),
    ({"hidden": {"choices": [[10], [10_000_000]]}}, "search.hidden.choices[1]"),
])
def test_the_largest_network_a_space_draws_is_checked_with_the_data_s_sizes(search, key):
    """[64, 10,000,000, 10] holds 750 million float64 parameters: 6 GB, beyond a model file's 4 GiB,
    though the hidden sizes alone pass (without the data, the 64 inputs are unknown)."""
    space = load_space({"search": search})
    with pytest.raises(ValueError) as raised:
        check_network_sizes(space, 64, 10)
    message = str(raised.value)
    assert message.startswith(f"{key}: a network with sizes [64, ") and "10000000, 10]" in message
    assert "6 GB" in message and "model format's limit of 4.29 GB" in message
    if "high" in search["hidden"]:  # one input and one class: 240 MB, the same range passes
        check_network_sizes(space, 1, 1)


def test_a_space_whose_networks_fit_passes_the_size_check():
    for search in ({"hidden": {"low": 10, "high": 1000}}, {"hidden": {"choices": [[], [100, 30]]}},
                   {"eta": {"low": 0.1, "high": 1.0}}):
        check_network_sizes(load_space({"search": search}), 784, 10)


def test_a_space_nested_too_deeply_is_refused_without_recursion():
    deep: dict = {}
    for _ in range(5000):
        deep = {"a": deep}
    with pytest.raises(ValueError, match="nest"):
        load_space({"search": {"eta": {"low": 0.1, "high": 1}}, "fixed": {"x": deep}})


@pytest.mark.parametrize(("document", "key"), BAD)
def test_each_mistake_names_its_key(document, key):
    with pytest.raises(ValueError) as raised:
        load_space(document)
    assert str(raised.value).startswith(key), str(raised.value)


def test_a_good_space_draws_ranges_and_choices():
    space = load_space({
        "fixed": {"epochs": 3, "cost": "cross-entropy"},
        "search": {"eta": {"low": 0.05, "high": 5.0, "log": True},
                   "batch_size": {"low": 5, "high": 50, "step": 5},
                   "hidden": {"choices": [[30], [100, 30], []]},
                   "nesterov": {"choices": [True, False]}},
        "objective": {"metric": "validation_cost"},
    })
    trial = FakeTrial()
    options = space.options(trial)
    assert space.direction == "minimize"
    assert options["cost"] == "cross_entropy" and options["epochs"] == 3
    assert trial.asked["eta"] == ("float", 0.05, 5.0, None, True)
    assert trial.asked["batch_size"] == ("int", 5, 50, 5, False)  # an integer option: suggest_int
    assert trial.asked["hidden"] == ("categorical", ["30", "100,30", "none"])
    assert options["hidden"] == [] and options["batch_size"] == 50 and options["nesterov"] is False
    assert space.decode({"hidden": "100,30", "eta": 0.1}) == {"hidden": [100, 30], "eta": 0.1}


def test_a_hidden_range_is_one_layer_of_that_size():
    param = load_space({"search": {"hidden": {"low": 10, "high": 40}}}).search["hidden"]
    assert param == Param("hidden", 10, 40, integer=True)
    assert param.suggest(FakeTrial()) == [40]
    assert encode([]) == "none" and encode(0.5) == 0.5


def test_space_files_are_read_with_their_name(tmp_path):
    path = tmp_path / "my-space.toml"
    path.write_text('[data]\nspec = "digits"\nsubset = 500\n[search]\nlmbda = { low = 0, high = 5 }\n')
    space = load_space(path)
    assert space.name == "my-space" and space.data["subset"] == 500
    path.write_text("[search\n")
    with pytest.raises(ValueError, match="not valid TOML"):
        load_space(path)


@pytest.mark.parametrize(("text", "fragment"), [
    ("[search]\neta = { low = 0, high = 1, log = true }\n", "search.eta.low"),
    ("[data]\nspec = 'digits'\n[objective]\nmetric = 'validation_acc'\n[search]\n"
     "eta = { low = 0.1, high = 1 }\n", "objective.metric"),
    ("[search]\neta = { low = 0.1, high = 1 }\n", "--trials"),
])
def test_the_command_line_fails_in_one_line(tmp_path, capsys, monkeypatch, text, fragment):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "space.toml").write_text(text)
    argv = ["sweep", "space.toml"] + ([] if fragment == "--trials" else ["--trials", "2"])
    code = cli.main(argv)
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("deltaprop: error: "), err
    assert fragment in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["space.toml"]  # nothing written
