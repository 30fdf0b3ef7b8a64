"""Where a study lives: optuna imported on demand, storage URLs opened, studies created or joined.

A storage is any database URL optuna accepts (``sqlite:///PATH``, ``postgresql://USER@HOST/DB``,
``mysql://...``), opened as an ``RDBStorage`` with a heartbeat so that the trial of a killed worker
is marked failed, or ``journal:PATH``: optuna's journal file storage (a log file many processes on
one machine, or on a shared file system, can append to; it has no heartbeat).
"""

from __future__ import annotations

import contextlib
import re
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from deltaprop.errors import DeltapropError

__all__ = ["MissingExtra", "StorageError", "check_url", "masked", "open_storage", "open_study",
           "optuna_module", "pruner_named", "quiet_optuna"]

JOURNAL_PREFIX = "journal:"
PRUNERS = ("median", "none", "hyperband")
DEFAULT_HEARTBEAT = 10  # seconds between a running trial's heartbeats
DEFAULT_GRACE = 60  # seconds without a heartbeat after which a running trial is marked failed
OPEN_ATTEMPTS = 3


class MissingExtra(DeltapropError, ImportError):
    """An optional dependency of the sweep (optuna, a database driver) is not installed."""


class StorageError(DeltapropError, ConnectionError):
    """The study's storage cannot be opened or used (no server, bad URL, wrong password)."""


def optuna_module() -> Any:
    """optuna, imported now; MissingExtra naming the extra to install when it is missing."""
    try:
        import optuna
    except ImportError:
        raise MissingExtra("the sweep needs optuna: pip install 'deltaprop[sweep]'") from None
    return optuna


@contextlib.contextmanager
def quiet_optuna() -> Iterator[Any]:
    """optuna with its log at ERROR and its ExperimentalWarnings off, for the block; yields it."""
    optuna = optuna_module()
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            yield optuna
    finally:
        optuna.logging.set_verbosity(level)


def masked(url: str) -> str:
    """``url`` with its password replaced by ***, for messages and outputs."""
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)


def default_storage(out: Path) -> str:
    """The SQLite file of a sweep's output folder, as a URL."""
    return f"sqlite:///{(out / 'study.db').absolute()}"


def check_url(url: str) -> None:
    """ValueError unless ``url`` looks like a database URL or ``journal:PATH``."""
    if not isinstance(url, str):
        raise TypeError(f"storage must be a URL string, got {type(url).__name__}")
    if url.startswith(JOURNAL_PREFIX):
        if not url[len(JOURNAL_PREFIX):].strip():
            raise ValueError("storage 'journal:': name the journal file, e.g. journal:sweep.log")
        return
    if "://" not in url:
        raise ValueError(f"storage {url!r}: expected a database URL (sqlite:///PATH, "
                         f"postgresql://USER@HOST:PORT/DB) or journal:PATH")


def driver_url(url: str) -> str:
    """``url`` with the PostgreSQL driver that is installed: SQLAlchemy 2.1 reads a plain
    ``postgresql://`` as psycopg 3, the extra ``deltaprop[postgresql]`` installs psycopg2."""
    scheme, _, rest = url.partition("://")
    if scheme not in ("postgresql", "postgres"):
        return url
    import importlib.util

    if importlib.util.find_spec("psycopg") is None and importlib.util.find_spec("psycopg2"):
        return f"postgresql+psycopg2://{rest}"
    return f"postgresql://{rest}"


def open_storage(url: str, heartbeat_interval: int | None = DEFAULT_HEARTBEAT,
                 grace_period: int | None = None) -> Any:
    """The optuna storage ``url`` names (see the module's docstring); heartbeats every
    ``heartbeat_interval`` seconds (None: none) for database storages."""
    check_url(url)
    with quiet_optuna() as optuna:
        if url.startswith(JOURNAL_PREFIX):
            from optuna.storages.journal import JournalFileBackend

            path = Path(url[len(JOURNAL_PREFIX):]).expanduser()
            if path.is_dir():
                raise ValueError(f"storage {url!r}: {path} is a folder; name a file")
            return optuna.storages.JournalStorage(JournalFileBackend(str(path)))
        sqlite = url.startswith("sqlite")  # workers then wait for each other's writes
        engine: dict[str, Any] = {"connect_args": {"timeout": 120}} if sqlite else {"pool_pre_ping": True}
        heartbeat: dict[str, Any] = {}
        if heartbeat_interval is not None:
            grace = grace_period or max(DEFAULT_GRACE, 3 * heartbeat_interval)
            heartbeat = {"heartbeat_interval": heartbeat_interval, "grace_period": grace}
        for attempt in range(OPEN_ATTEMPTS):  # workers creating the tables at once may collide
            try:
                return optuna.storages.RDBStorage(driver_url(url), engine_kwargs=engine, **heartbeat)
            except ImportError as error:
                raise MissingExtra(f"storage {masked(url)}: {error}; for PostgreSQL: pip install "
                                   f"'deltaprop[postgresql]'") from None
            except Exception as error:  # sqlalchemy's: bad URL, no server, no such database
                if attempt + 1 == OPEN_ATTEMPTS or "refused" in str(error):
                    raise StorageError(f"storage {masked(url)}: cannot open it: "
                                       f"{_first_line(error)}") from None
                time.sleep(0.5 * (attempt + 1))
        raise AssertionError("unreachable")


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def pruner_named(name: str | Any, epochs: int) -> Any:
    """The pruner called ``name`` (median, none, hyperband), or ``name`` itself if it is one."""
    optuna = optuna_module()
    if not isinstance(name, str):
        return name
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=0)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(epochs, 2))
    if name == "none":
        return optuna.pruners.NopPruner()
    raise ValueError(f"pruner {name!r}: expected one of {', '.join(PRUNERS)}")


def open_study(storage: Any, url: str, name: str, direction: str, pruner: Any = None,
               sampler: Any = None) -> Any:
    """The study ``name`` in ``storage``, created when missing; ValueError when it exists with
    the other direction (another objective)."""
    with quiet_optuna() as optuna:
        try:
            study = optuna.create_study(storage=storage, study_name=name, direction=direction,
                                        load_if_exists=True, pruner=pruner, sampler=sampler)
        except Exception as error:
            if isinstance(error, DeltapropError | ValueError | TypeError):
                raise
            raise StorageError(f"storage {masked(url)}: {_first_line(error)}") from None
    if study.direction.name.lower() != direction:
        raise ValueError(f"study {name!r} in {masked(url)} {study.direction.name.lower()}s its "
                         f"objective, this space's metric is to {direction}; choose another --study")
    return study
