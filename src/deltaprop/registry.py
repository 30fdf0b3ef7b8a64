"""Registries: one table of named entries per idea, and the options an entry declares.

Each idea deltaprop lets users name has one ``Registry``: activations, costs, initializers,
optimizers, schedules. An entry is registered once, with its name; everything that lists or checks the names
(``Network``, ``fit``, the command line's choices and help, the model and checkpoint schemas, the
sweep's vocabulary, the docs' tables) reads the registry, so that a new entry needs no other edit.

An entry may declare ``Option``s: its tunable values, each with its default, its one rule
(``deltaprop._validation.Rule``) and a help text. ``deltaprop.options.TrainingConfig`` is made from
the training options and every registered optimizer's options.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from deltaprop._validation import Rule

T = TypeVar("T")


@dataclass(frozen=True)
class Option:
    """One named value an entry (or a training run) takes.

    Args:
        name: the keyword argument (``momentum``); the command line's flag is ``--`` + the name with
            hyphens unless ``flag`` says otherwise.
        default: its value when not given.
        rule: the one check of its values, which also parses them from text.
        help: what it means, with units, for ``--help`` and the docs.
        flag, metavar: the command line's flag and placeholder, where not the defaults.
    """

    name: str
    default: Any
    rule: Rule
    help: str
    flag: str | None = None
    metavar: str | None = None

    def check(self, value: Any) -> Any:
        """``value`` checked by the rule (TypeError/ValueError naming the option); returns it normalized."""
        return self.rule.check(self.name, value)

    @property
    def cli_flag(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")


class Registry(MutableMapping[str, T], Generic[T]):
    """The named entries of one idea (``concept``: 'activation', 'optimizer', ...), in the order they
    were registered. Lookups read hyphens as underscores (``cross-entropy``); ``del`` and ``pop``
    remove an entry (a test's, a user's)."""

    def __init__(self, concept: str) -> None:
        self.concept = concept
        self._entries: dict[str, T] = {}

    def register(self, name: str, entry: T) -> T:
        """Add (or replace) the entry called ``name``; returns the entry."""
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"a {self.concept} needs a name that is an identifier, got {name!r}")
        self._entries[name] = entry
        return entry

    def get_entry(self, name: Any) -> T:
        """The entry called ``name``.

        Raises:
            TypeError: ``name`` is not a string.
            ValueError: no such entry; the message lists the names and the closest one.
        """
        if not isinstance(name, str):
            raise TypeError(f"{self.concept} must be a name, got {type(name).__name__}")
        key = name.strip().replace("-", "_")
        if key not in self._entries:
            raise ValueError(self.unknown(name))
        return self._entries[key]

    def unknown(self, name: str) -> str:
        """The message for an unknown name: the known ones, and the closest when there is one."""
        message = f"unknown {self.concept} {name!r}; expected one of {sorted(self._entries)}"
        close = difflib.get_close_matches(name.replace("-", "_"), self._entries, n=1)
        return message + (f" (did you mean {close[0]!r}?)" if close else "")

    def __getitem__(self, name: str) -> T:
        return self._entries[name]

    def __setitem__(self, name: str, entry: T) -> None:
        self.register(name, entry)

    def __delitem__(self, name: str) -> None:
        del self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.concept!r}: {', '.join(self._entries)})"
