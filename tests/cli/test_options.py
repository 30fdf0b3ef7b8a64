"""deltaprop train's training options come from the one table, deltaprop.options.OPTIONS: every
option is a flag, parsed by its rule, whose help shows its default (and choices), and the parsed
defaults are the table's, which are also fit's."""

from __future__ import annotations

import argparse
import inspect
import re

import pytest

from deltaprop import cli, fit
from deltaprop._validation import OPTIONAL_POSITIVE_INT
from deltaprop.cli import train_plan
from deltaprop.options import DEFAULTS, OPTIONS
from deltaprop.registry import Option

from .support import assert_one_line_error, run


def flag(option: Option) -> str:
    return option.cli_flag


def expected_default(option: Option) -> str:
    value = option.default
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "none" if value is None else str(value)


@pytest.fixture(scope="module")
def help_entries() -> dict[str, str]:
    """The help of each option of ``deltaprop train --help``, on one line, by its first flag."""
    parser = cli.build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    text = " ".join(subparsers.choices["train"].format_help().split())
    others = {action.dest: action.option_strings[0] for action in subparsers.choices["train"]._actions
              if action.option_strings}
    entries = {}
    for option in OPTIONS:
        start = re.compile(rf" {flag(option)}[ ,]").search(text, text.index("training:")).start()
        following = [match.start() for dest, f in others.items() if dest != option.name
                     for match in re.finditer(rf" {f}[ ,]", text)]
        end = min([i for i in following if i > start] or [len(text)])
        entries[option.name] = text[start:end]
    return entries


@pytest.mark.parametrize("option", OPTIONS, ids=[option.name for option in OPTIONS])
def test_every_option_is_in_the_help_with_its_default(option, help_entries) -> None:
    entry = help_entries[option.name]
    if "(default:" in option.help:  # eta: its default depends on the optimizer
        assert " ".join(option.help.split()) in entry
    else:
        assert f"(default: {expected_default(option)})" in entry, entry
    for choice in option.rule.choices if option.rule.kind == "choice" else ():
        assert choice in entry
    if option.rule.kind == "bool":
        assert flag(option).replace("--", "--no-", 1) in entry


def test_parsed_defaults_are_the_table_defaults_and_fits() -> None:
    args = cli.build_parser().parse_args(["train"])
    assert {name: getattr(args, name) for name in DEFAULTS} == DEFAULTS
    defaults = vars(train_plan.train_parser().parse_args([]))
    assert {name: defaults[name] for name in DEFAULTS} == DEFAULTS
    parameters = inspect.signature(fit).parameters
    assert {name: parameters[name].default for name in DEFAULTS} == DEFAULTS


def test_the_training_options_are_exactly_the_table() -> None:
    args = cli.build_parser().parse_args(["train", "--early-stop", "3", "--no-shuffle",
                                          "--optimizer", "adam", "--beta-1", "0.5"])
    options = train_plan.training_config(args).as_dict()
    assert options.keys() == DEFAULTS.keys()
    assert options["early_stopping"] == 3 and options["shuffle"] is False
    assert options["optimizer"] == "adam" and options["beta_1"] == 0.5


def test_a_new_field_of_the_table_becomes_a_flag() -> None:
    extra = Option("warmup_epochs", None, OPTIONAL_POSITIVE_INT, "epochs of warm-up", metavar="N")
    parser = argparse.ArgumentParser()
    train_plan.add_training_option(parser, extra)
    assert parser.parse_args(["--warmup-epochs", "4"]).warmup_epochs == 4
    assert parser.parse_args([]).warmup_epochs is None
    assert "epochs of warm-up (default: none)" in " ".join(parser.format_help().split())


@pytest.mark.parametrize(("argv", "fragments"), [
    (["--epsilon", "0"], ["--epsilon", "a number > 0"]),
    (["--beta-1", "1.5"], ["--beta-1", "[0, 1)"]),
    (["--train-metrics", "some"], ["--train-metrics", "running"]),
    (["--seed", "-1"], ["--seed", "an integer >= 0"]),
    (["--schedule", "0"], ["--schedule", "an integer >= 1"]),
])
def test_each_check_rejects_bad_values(argv, fragments, capsys) -> None:
    code, out, err = run(capsys, "train", *argv)
    assert_one_line_error(code, out, err, *fragments)


def test_every_train_option_shows_its_default_and_its_allowed_names() -> None:
    from deltaprop.activations import ACTIVATIONS
    from deltaprop.costs import COSTS
    from deltaprop.network import INITIALIZERS

    hidden = [name for name, activation in ACTIVATIONS.items() if activation.elementwise]
    registries = {"activation": hidden, "output_activation": ACTIVATIONS, "cost": COSTS,
                  "init": INITIALIZERS}
    checked = set()
    for action in train_plan.train_parser()._actions:
        dest = action.dest
        if dest == "help" or not action.option_strings:
            continue
        text = " ".join((action.help or "").split())
        if isinstance(action, argparse._StoreTrueAction):  # a flag: off unless given
            assert action.default is False, dest
            continue
        assert "(default:" in text, (dest, text)
        for name in (action.choices or ()):
            assert name in text, (dest, name, text)
        for name in registries.get(dest, ()):
            assert name in text, (dest, name, text)
        checked.add(dest)
    assert set(registries) | {"dtype", "epochs", "batch_size", "eta", "lmbda", "momentum",
                              "dropout", "seed", "hidden", "data"} <= checked


@pytest.mark.parametrize(("argv", "eta"), [
    (["--cost", "quadratic"], 3.0), (["--cost", "cross-entropy"], 0.5), ([], 0.5),
    (["--cost", "quadratic", "--optimizer", "adam"], 0.001), (["--cost", "quadratic", "--eta", "1"], 1.0),
])
def test_a_new_runs_eta_is_the_one_fit_would_choose(argv, eta) -> None:
    """The checks made before training (the weight-decay limit) see the η the run will use."""
    args = cli.build_parser().parse_args(["train", *argv])
    assert train_plan.training_config(args).eta == eta


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices


@pytest.mark.parametrize("command", ["train", "gradcheck", "explain"])
def test_the_activation_help_lists_only_what_is_accepted(command, capsys) -> None:
    from deltaprop.activations import ACTIVATIONS

    action = next(a for a in _subparsers()[command]._actions if a.dest == "activation")
    listed = re.search(r"hidden layers: (.*) \(default", " ".join(action.help.split())).group(1)
    names = re.split(r", | or ", listed)
    assert "softmax" not in names and set(names) < set(ACTIVATIONS)
    for name in ACTIVATIONS:
        if name in names:
            assert action.type(name) == name
        else:  # refused: listed nowhere it is not accepted
            with pytest.raises(argparse.ArgumentTypeError, match="--output-activation"):
                action.type(name)


def test_an_unknown_command_suggests_the_closest(capsys) -> None:
    code, out, err = run(capsys, "trian")
    assert_one_line_error(code, out, err, "invalid choice: 'trian'; did you mean 'train'?")
    code, out, err = run(capsys, "xyzzy")
    assert_one_line_error(code, out, err, "invalid choice: 'xyzzy'")
    assert "did you mean" not in err
    code, out, err = run(capsys, "train", "--dtype", "float33")
    assert_one_line_error(code, out, err, "train: ", "did you mean 'float32'?")


def _required(parser: argparse.ArgumentParser) -> list[str]:
    """A value for each positional argument and required option of ``parser`` that parsing accepts."""
    values = [str(next(iter(action.choices))) if action.choices else "x"
              for action in parser._actions if not action.option_strings]
    return values + [word for action in parser._actions if action.option_strings and action.required
                     for word in (action.option_strings[0], "1")]


@pytest.mark.parametrize("command", [c.__name__.rsplit(".", 1)[-1] for c in cli.COMMANDS
                                     if not c.__name__.endswith(".bench")])
def test_every_command_suggests_the_closest_option(command, capsys) -> None:
    parser = _subparsers()[command]
    flags = [flag for action in parser._actions for flag in action.option_strings
             if flag.startswith("--") and len(flag) >= 6 and flag != "--help"]
    assert flags, command
    wanted = flags[0]
    typo = wanted[:4] + wanted[5:]  # one letter left out: --hiden for --hidden
    code, out, err = run(capsys, command, *_required(parser), typo, "1")
    assert_one_line_error(code, out, err, f"{command}: unrecognized arguments: {typo} 1",
                          f"did you mean {wanted}?")
