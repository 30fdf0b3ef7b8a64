"""``deltaprop train --resume DIR``: the options a checkpoint keeps, and the run they continue.

A checkpoint written by ``deltaprop train`` stores the run's options (all but those that only change
how the run is shown) under ``extra["cli"]``. A resume takes them back; any option given again must
agree with them.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from deltaprop.checkpoint import Checkpoint, load_checkpoint
from deltaprop.cli._common import PROG
from deltaprop.cli.train_options import flag_of
from deltaprop.options import DEFAULTS

#: Options that only change how a run is shown or where its checkpoint goes: a resume may change them.
PRESENTATION_OPTIONS = frozenset({"handler", "command", "quiet", "json", "no_plots", "resume",
                                  "checkpoint_dir"})


def stored_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options of this run that a resume must take again (not how the output is shown)."""
    return {key: value for key, value in vars(args).items() if key not in PRESENTATION_OPTIONS}


def _flag(key: str) -> str:
    return flag_of(key) if key in DEFAULTS else "--" + key.replace("_", "-")


def resumed_arguments(args: argparse.Namespace, defaults: dict[str, Any]) -> argparse.Namespace:
    """The original options of the run checkpointed in ``args.resume``, with this call's output
    options; any other option given now (not at its value in ``defaults``) must agree with the
    original."""
    saved = load_checkpoint(args.resume)
    stored = saved.state["extra"].get("cli")
    if not isinstance(stored, dict) or not isinstance(stored.get("out"), str):
        raise ValueError(f"the checkpoint in {args.resume} was not written by '{PROG} train'")
    for key, value in vars(args).items():
        if key in PRESENTATION_OPTIONS or key not in stored:
            continue
        if value != defaults.get(key) and value != stored[key]:
            raise ValueError(
                f"{_flag(key)} {value} differs from the checkpointed run's {stored[key]!r}; "
                f"a resumed run keeps its original options"
            )
    resumed = argparse.Namespace(**{**defaults, **stored})
    for key in PRESENTATION_OPTIONS - {"checkpoint_dir"}:
        setattr(resumed, key, getattr(args, key))
    resumed.checkpoint_dir = args.checkpoint_dir or args.resume
    resumed.keep_checkpoints = resumed.keep_checkpoints or args.checkpoint_dir is not None
    return resumed


class ResumedCheckpoint(Checkpoint):
    """A checkpoint store that resumes from ``source`` and saves to ``directory`` (the same folder
    unless ``--checkpoint-dir`` moves the checkpoints of the resumed run elsewhere)."""

    def __init__(self, directory: str | os.PathLike[str], source: str | os.PathLike[str],
                 extra: dict[str, Any] | None = None) -> None:
        super().__init__(directory, extra)
        self.source = Path(source)

    def load(self) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The state saved in ``source``."""
        return Checkpoint(self.source).load()
