"""Every name and option a user can give, as the markdown tables of ``docs/reference.md``, read from
the registries (activations, costs, initializers, optimizers, schedules) and the training options'
table.

The docs never list the names again: ``tables()`` makes them, and a test holds ``docs/reference.md``
equal to it. After registering a new entry, rewrite the file with::

    python -c "import deltaprop.vocabulary as v; v.write('docs/reference.md')"
"""

from __future__ import annotations

import os
from typing import Any

from deltaprop.activations import ACTIVATIONS
from deltaprop.costs import COSTS
from deltaprop.initializers import INITIALIZERS
from deltaprop.optimizers import OPTIMIZERS
from deltaprop.options import END_OPTIONS, OPTIONS, RUN_OPTIONS
from deltaprop.registry import Option
from deltaprop.schedules import SCHEDULES

HEADER = """# Names and options

Generated from deltaprop's registries (`deltaprop.vocabulary`); a test keeps this page equal to them.
Hyphens may replace underscores in every name (`cross-entropy`).
"""


def _first_line(text: str | None) -> str:
    """The first paragraph of a docstring, on one line, as a table cell."""
    return _cell(" ".join((text or "").strip().split("\n\n")[0].split()))


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _shown(value: Any) -> str:
    return "none" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def _onnx(operator: tuple[str, dict[str, Any]] | None) -> str:
    """An activation's ONNX operator as docs/onnx.md names it: `Softmax(axis=1)`, (no node)."""
    if operator is None:
        return "–"
    name, attributes = operator
    if name == "Identity":
        return "(no node)"
    return f"`{name}({', '.join(f'{k}={v}' for k, v in attributes.items())})`".replace("()", "")


def _option_rows(options: tuple[Option, ...]) -> list[str]:
    return [f"| `{o.name}` | `{o.cli_flag}` | {_shown(o.default)} | {o.rule.expected()} | {_cell(o.help)} |"
            for o in options]


def _entries(title: str, registry: Any, describe: Any) -> list[str]:
    rows = [f"## {title}", "", "| name | what it is |", "|---|---|"]
    rows += [f"| `{name}` | {describe(entry)} |" for name, entry in registry.items()]
    return rows + [""]


def tables() -> str:
    """The page: activations, costs, initializers, optimizers (with their options and default η),
    and every training option (``fit``'s keyword, ``deltaprop train``'s flag)."""
    lines = [HEADER]
    lines += ["## Activations (`activation=`, `--activation`)", "", "| name | ONNX | what it is |",
              "|---|---|---|"]
    lines += [f"| `{name}` | {_onnx(act.onnx_operator)} | {_first_line(type(act).__doc__)} |"
              for name, act in ACTIVATIONS.items()]
    lines += [""]
    lines += _entries("Costs (`cost=`, `--cost`)", COSTS, lambda cost: _first_line(type(cost).__doc__))
    lines += _entries("Initializers (`init=`, `--init`)", INITIALIZERS, lambda f: _first_line(f.__doc__))
    lines += ["## Optimizers (`optimizer=`, `--optimizer`)", "",
              "| name | default η | options | what it is |", "|---|---|---|---|"]
    lines += [f"| `{name}` | {cls.default_eta:g} | {', '.join(f'`{o.name}`' for o in cls.options) or '–'}"
              f" | {_first_line(cls.__doc__)} |" for name, cls in OPTIMIZERS.items()]
    lines += ["", *_entries("Schedules of η (`schedule=N`: halve's patience; the estimators' "
                            "`learning_rate=`: the others)", SCHEDULES,
                            lambda cls: _first_line(cls.__doc__))]
    optimizer_options = tuple(o for o in OPTIONS if o not in RUN_OPTIONS + END_OPTIONS)
    for title, options in (("Training options", RUN_OPTIONS + END_OPTIONS),
                           ("The optimizers' options", optimizer_options)):
        lines += [""] if lines[-1] else []
        lines += [f"## {title}", "", "| keyword | flag | default | expects | what it is |",
                  "|---|---|---|---|---|", *_option_rows(options)]
    return "\n".join(lines) + "\n"


def write(path: str | os.PathLike[str]) -> None:
    """Write ``tables()`` to ``path``."""
    with open(path, "w", encoding="utf-8") as file:
        file.write(tables())
