"""The one way out to the terminal, for the command line and the library's printing paths.

Anything deltaprop did not write itself (class labels, file names and paths, model metadata, messages
quoting the input) is untrusted: it may hold escape sequences (OSC 52 clipboard writes, OSC 8 links,
screen clears), bidirectional overrides, or rich markup (``[bold]``, ``[/]``, ``[link=...]``).

- ``safe(text)``: a str with every control character (C0 but for tab and newline where ``lines``,
  DEL, C1, ESC) and every bidirectional override or isolate shown as a visible escape (``\\x1b``,
  ``\\u202e``), lone surrogates likewise, and long values shortened in the middle; for plain output
  (``print``, ``fail``) and rich's ``markup=False``.
- ``plain(text)``: the same as a ``rich.text.Text``, which rich never parses as markup: for table
  cells and titles.
- ``styled(*parts)``: a line mixing deltaprop's own markup (str parts) with untrusted values (Text
  parts from ``plain``): ``styled("label: ", plain(label, style="bold"))``.
- ``console()``: a rich Console without highlighting or emoji codes whose every string is made
  ``safe`` (newlines and tabs kept) before rich reads it, and printed as plain text should its markup
  not parse: a safety net under the three above, not a replacement for them.
- ``warn(message)``: one ``deltaprop: warning: ...`` line on stderr; ``warnings_as_lines()`` turns
  the Python warnings of a block into such lines, in the command line's words (``cli_wording``).
"""

from __future__ import annotations

import contextlib
import re
import sys
import warnings
from collections.abc import Iterator
from typing import Any

from deltaprop.limits import MAX_MESSAGE_CHARS, shorten_middle

PROG = "deltaprop"
#: characters of one untrusted value as shown (a label, a path, a metadata value), before escaping.
MAX_VALUE_CHARS = 200
#: C0 controls, DEL, C1 controls, the bidirectional marks, embeddings, overrides and isolates,
#: and lone surrogates (undecodable bytes of a file name).
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
#: the same but tab and newline, for deltaprop's own multi-line text.
CONTROL_IN_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
                              "\ud800-\udfff]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe(text: Any, limit: int | None = MAX_VALUE_CHARS, lines: bool = False) -> str:
    """``text`` (any value, through ``str``) shortened in the middle to ``limit`` characters (None:
    not shortened), its control characters and bidirectional overrides shown as visible escapes;
    ``lines``: tabs and newlines kept."""
    text = str(text)
    if limit is not None:
        text = shorten_middle(text, limit)
    return (CONTROL_IN_LINES if lines else CONTROL).sub(_visible, text)


def plain(text: Any, limit: int | None = MAX_VALUE_CHARS, style: str = "") -> Any:
    """``safe(text)`` as a rich Text: shown as it is, never read as markup."""
    from rich.text import Text

    return Text(safe(text, limit), style=style)


def styled(*parts: Any) -> Any:
    """One rich Text of ``parts``: a str is deltaprop's own markup (``"accuracy [bold]95%[/]"``),
    parsed; anything else is untrusted and shown as ``plain`` (a Text passes as it is), e.g.
    ``styled("predicted label: ", plain(label, style="bold"))``. (Escaping data into markup is not
    done: rich reads a backslash before any ``[`` as an escape, so no escape is right in all places.)"""
    from rich.text import Text

    return Text.assemble(*(Text.from_markup(part, emoji=False) if isinstance(part, str)
                           else part if isinstance(part, Text) else plain(part) for part in parts))


def _safe_console_class() -> type:
    from rich.console import Console
    from rich.errors import MarkupError

    class SafeConsole(Console):
        """A Console whose strings lose their control characters before rich reads them."""

        def render_str(self, text: str, *args: Any, **kwargs: Any) -> Any:
            text = safe(text, None, lines=True)
            try:
                return super().render_str(text, *args, **kwargs)
            except MarkupError:  # deltaprop's own markup always parses: this is someone else's
                return super().render_str(text, *args, **{**kwargs, "markup": False})

    return SafeConsole


def console(stderr: bool = False) -> Any:
    """A rich Console on stdout (or stderr), without automatic highlighting or emoji codes, whose
    strings are made safe (see the module docstring)."""
    return _safe_console_class()(stderr=stderr, highlight=False, emoji=False)


def line(kind: str, message: str) -> str:
    """``deltaprop: kind: message`` in one line of at most ``MAX_MESSAGE_CHARS`` characters, its
    whitespace collapsed and its control characters escaped."""
    prefix = f"{PROG}: {kind}: "
    text = safe(" ".join(str(message).split()), None)
    return prefix + shorten_middle(text, MAX_MESSAGE_CHARS - len(prefix))


def warn(message: str) -> None:
    """Print ``deltaprop: warning: message`` on stderr, one line."""
    print(line("warning", message), file=sys.stderr, flush=True)


# -- warnings --------------------------------------------------------------------------------------

#: at most this many warning lines per command (the rest are counted in none: the first say enough).
MAX_WARNING_LINES = 2


def cli_wording(warning: Warning) -> str | None:
    """What the command line says of ``warning`` (None: nothing): deltaprop's own with advice for
    the command line, numeric overflow in words, another library's message as it is."""
    from deltaprop.errors import UnscaledInputWarning

    if isinstance(warning, UnscaledInputWarning):
        low, high = getattr(warning, "low", None), getattr(warning, "high", None)
        where = "" if low is None else f" range over [{low:g}, {high:g}],"
        largest = None if low is None else max(abs(low), abs(high))
        example = "" if largest is None else f" (e.g. divide them by {largest:g})"
        return (f"the training inputs{where} far beyond [0, 1]: sigmoid units saturate and training is "
                f"slow and poor; train with --scale standard (or --scale minmax), or scale the "
                f"data's columns to [0, 1]{example}")
    message = str(warning)
    if isinstance(warning, RuntimeWarning) and ("overflow" in message or "invalid value" in message):
        return ("some numbers overflowed the floating-point range (extreme inputs, weights or "
                "--eps): the results shown may be inf or nan")
    return message


@contextlib.contextmanager
def warnings_as_lines() -> Iterator[None]:
    """Within the block, each warning (deltaprop's, numpy's, another library's) is one ``deltaprop:
    warning: ...`` line on stderr in the command line's words (``cli_wording``), each wording once,
    at most ``MAX_WARNING_LINES`` in all; no source line, no file name."""
    shown_lines: set[str] = set()

    def show(message: Any, category: Any, filename: Any, lineno: Any, file: Any = None,
             line_: Any = None) -> None:
        warning = message if isinstance(message, Warning) else category(str(message))
        text = cli_wording(warning)
        if text is None or text in shown_lines or len(shown_lines) >= MAX_WARNING_LINES:
            return
        shown_lines.add(text)
        with contextlib.suppress(OSError, ValueError):
            warn(text)

    with warnings.catch_warnings():  # the filters stay as they are; showwarning is restored after
        warnings.showwarning = show
        yield
