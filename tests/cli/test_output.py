"""The one way out to the terminal (``deltaprop._output``): whatever text goes in, what comes out
holds no control character or bidirectional override, is never read as rich markup, and shows
through a rich Console exactly as escaped."""

from __future__ import annotations

import io
import re
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from deltaprop import _output
from deltaprop.cli._common import confusion_table, fail, numbers_table
from deltaprop.errors import UnscaledInputWarning

#: what the terminal must never receive from data: C0 (tab and newline included, in one-line values),
#: DEL, C1, the bidirectional marks, embeddings, overrides, isolates, lone surrogates.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
PIECES = st.sampled_from(["\x1b]52;c;Zm9v\x07", "\x1b]8;;http://x/\x1b\\", "\x1b[2J", "\u202e", "\u2066",
                          "[bold]", "[/]", "[/bold]", "[link=http://x]", "\\", "[", "]", "\x9b", "\x7f",
                          "\r", "\n", "\t", ":smile:", "\ud800", "é", "界"])
TEXT = st.lists(st.one_of(st.text(max_size=20), PIECES), max_size=12).map("".join)


def _console(file: io.StringIO, width: int = 10_000) -> Console:
    return _output._safe_console_class()(file=file, width=width, highlight=False, emoji=False,
                                         force_terminal=False, color_system=None)


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_safe_holds_no_control_character(text: str) -> None:
    shown = _output.safe(text, None)
    assert CONTROL.search(shown) is None
    assert _output.safe(shown, None) == shown  # escaping twice changes nothing more


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_plain_and_styled_are_never_read_as_markup(text: str) -> None:
    assert _output.plain(text, None).plain == _output.safe(text, None)
    line = _output.styled("label: [bold]x[/] ", _output.plain(text, None, style="bold"), [text])
    assert line.plain == f"label: x {_output.safe(text, None)}{_output.safe([text])}"


@settings(max_examples=200, deadline=None)
@given(TEXT)
def test_printing_through_rich_shows_the_escaped_text(text: str) -> None:
    labelled = _output.styled("[dim]label:[/] ", _output.plain(text, None, "bold"))
    for shown, expected in ((_output.plain(text, None), ""), (labelled, "label: ")):
        buffer = io.StringIO()
        _console(buffer).print(shown, soft_wrap=True)
        assert CONTROL.search(buffer.getvalue().rstrip("\n")) is None
        assert buffer.getvalue() == expected + _output.safe(text, None) + "\n"


@settings(max_examples=100, deadline=None)
@given(st.lists(TEXT, min_size=2, max_size=4, unique=True), TEXT)
def test_tables_of_hostile_labels_print_inertly(names: list[str], title: str) -> None:
    buffer = io.StringIO()
    out = _console(buffer, width=200)
    out.print(confusion_table(np.eye(len(names), dtype=int), title, names))
    table = numbers_table(title, "key", "value")
    table.add_row(_output.plain(title), _output.plain(names[0]))
    out.print(table)
    printed = buffer.getvalue().replace("\n", "")
    assert CONTROL.search(printed) is None


@settings(max_examples=100, deadline=None)
@given(TEXT)
def test_the_console_is_a_safety_net_for_raw_strings(text: str) -> None:
    buffer = io.StringIO()
    _console(buffer).print(text, soft_wrap=True)  # unescaped: no control character, no MarkupError
    assert CONTROL.search(buffer.getvalue().replace("\n", "").replace("\t", "")) is None


@settings(max_examples=200, deadline=None)
@given(TEXT)
def test_fail_and_warn_print_one_inert_line(text: str) -> None:
    for kind, write in (("error", fail), ("warning", _output.warn)):
        err = io.StringIO()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("sys.stderr", err)
            write(text)
        line = err.getvalue()
        assert line.startswith(f"deltaprop: {kind}: ") and line.endswith("\n")
        assert line.count("\n") == 1 and CONTROL.search(line[:-1]) is None
        assert len(line) - 1 <= _output.MAX_MESSAGE_CHARS


def test_long_values_are_shortened() -> None:
    assert len(_output.safe("x" * 10_000)) <= _output.MAX_VALUE_CHARS
    assert _output.safe("\x1b[2J\u202e") == "\\x1b[2J\\u202e"


def test_warnings_become_one_cli_line_each(capsys: pytest.CaptureFixture[str]) -> None:
    unscaled = UnscaledInputWarning("X ranges ...; fit(..., warn_unscaled=False) silences this")
    unscaled.low, unscaled.high, unscaled.mean = 0.0, 255.0, 120.0
    with _output.warnings_as_lines():
        warnings.warn(unscaled, stacklevel=1)
        warnings.warn(unscaled, stacklevel=1)
        with np.errstate(over="warn"):
            np.array([1e308]) * 10
        warnings.warn("\x1b]52;c;Zm9v\x07 [bold]third-party", UserWarning, stacklevel=1)
    err = capsys.readouterr().err.splitlines()
    assert len(err) == _output.MAX_WARNING_LINES
    assert all(line.startswith("deltaprop: warning: ") for line in err)
    assert "warn_unscaled" not in err[0] and "divide them by 255" in err[0]
    assert "overflowed" in err[1]
