"""Where a study lives: optuna imported on demand, storage URLs opened, studies created or joined.

A storage is any database URL optuna accepts (``sqlite:///PATH``, ``postgresql://USER@HOST/DB``,
``mysql://...``), opened as an ``RDBStorage`` with a heartbeat so that the trial of a killed worker
is marked failed, or ``journal:PATH``: optuna's journal file storage (a log file many processes on
one machine, or on a shared file system, can append to; it has no heartbeat).
"""

from __future__ import annotations

import contextlib
import json
import re
import time
import traceback
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, unquote_plus

from deltaprop.errors import DeltapropError

__all__ = ["MissingExtra", "StorageError", "check_url", "masked", "open_storage", "open_study", "scrub",
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


#: Query parameters whose value is a secret (compared lower-cased, percent-decoded).
SECRET_PARAMETERS = frozenset({"password", "pass", "pwd", "passwd", "secret", "sslpassword"})
MASK = "***"


def _split_userinfo(url: str) -> tuple[str, str, str]:
    """(prefix up to and including the user name and its ':', the password, the rest from the '@'
    on) of a URL with a password in its userinfo; ('', '', url) when it has none. The userinfo ends
    at the LAST '@' (a password may hold '@', '/', '?' or '#', raw or percent-encoded)."""
    if url.startswith(JOURNAL_PREFIX):
        return "", "", url
    scheme, sep, rest = url.partition("://")
    start = len(scheme) + len(sep) if sep else 0
    at = url.rfind("@")
    if at < start or url.startswith("/", start):
        return "", "", url
    colon = url.find(":", start, at)
    if colon < 0:
        return "", "", url
    return url[:colon + 1], url[colon + 1:at], url[at:]


def _mask_query(text: str) -> tuple[str, list[str]]:
    """``text`` with the values of its secret query parameters masked, and those values."""
    found: list[str] = []

    def one(match: re.Match[str]) -> str:
        if unquote(match.group(2)).strip().lower() in SECRET_PARAMETERS:
            found.append(match.group(3))
            return f"{match.group(1)}{match.group(2)}={MASK}"
        return match.group(0)

    return re.sub(r"([?&;])([^=&;#?]*)=([^&;#]*)", one, text), found


def url_secrets(url: str) -> list[str]:
    """The secrets a storage URL holds (its password, its password= parameters), each as written
    and percent-decoded; the longest first."""
    if not isinstance(url, str):
        return []
    _, password, rest = _split_userinfo(url)
    # parsers that end the userinfo at the first '@' show the rest of the password as the host
    found = _mask_query(rest)[1] + ([password, *password.split("@")] if password else [])
    forms = {form for secret in found for form in (secret, unquote(secret), unquote_plus(secret),
                                                   quote(unquote(secret), safe=""))}
    return sorted((form for form in forms if len(form) >= 3 and form != MASK), key=len, reverse=True)


def masked(url: str) -> str:
    """``url`` with every secret replaced by ***: the password of its userinfo in any form (with
    '/', '@', '?', percent-encoded), and the value of any password/pass/pwd query parameter. The one
    function every message, ``--json``, ``sweep.json`` and ``trials.csv`` shows storage URLs with."""
    if not isinstance(url, str):
        return url
    prefix, password, rest = _split_userinfo(url)
    text = f"{prefix}{MASK}{rest}" if prefix else rest
    return _mask_query(text)[0]


def scrub(text: str, url: str | None) -> str:
    """``text`` (an error message, a log line) without the secrets of ``url``: the URL itself
    masked, and each of its secrets, in any form, replaced by ***."""
    if not url or not isinstance(text, str):
        return text
    text = text.replace(url, masked(url))
    for secret in url_secrets(url):
        text = text.replace(secret, MASK)
    return text


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
        raise ValueError(f"storage {masked(url)!r}: expected a database URL (sqlite:///PATH, "
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
            _check_journal(url, path)  # before optuna appends to a file of something else
            try:
                return optuna.storages.JournalStorage(JournalFileBackend(str(path)))
            except OSError:
                raise
            except Exception as error:  # JSON that is not optuna's, a log of something else
                raise _not_a_journal(url, error) from None
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
                raise MissingExtra(f"storage {masked(url)}: {scrub(str(error), url)}; for PostgreSQL: "
                                   f"pip install 'deltaprop[postgresql]'") from None
            except Exception as error:  # sqlalchemy's: bad URL, no server, no such database
                if attempt + 1 == OPEN_ATTEMPTS or "refused" in str(error):
                    raise StorageError(f"storage {masked(url)}: cannot open it: "
                                       f"{_first_line(error, url)}") from None
                time.sleep(0.5 * (attempt + 1))
        raise AssertionError("unreachable")


#: Where an error raised inside the storage comes from (its innermost frame's file).
STORAGE_CODE = ("/sqlalchemy/", "/optuna/storages/", "/psycopg", "/pymysql/", "/MySQLdb/")


def storage_failure(error: BaseException, url: str) -> StorageError | None:
    """A one-line StorageError for an error raised by the storage's code (a corrupt study: an
    unknown trial state; a database gone away), its message without secrets; None for others."""
    if isinstance(error, DeltapropError) or not isinstance(error, Exception):
        return None
    frames = traceback.extract_tb(error.__traceback__)
    where = frames[-1].filename.replace("\\", "/") if frames else ""
    if not (type(error).__module__.startswith(("sqlalchemy", "psycopg", "optuna.storages"))
            or any(part in where for part in STORAGE_CODE)):
        return None
    what = " ".join(_first_line(error, url).split())[:200]
    return StorageError(f"storage {masked(url)}: cannot read the study ({type(error).__name__}: {what}); "
                        f"is it a study database of Optuna's, not corrupt?")


def _check_journal(url: str, path: Path) -> None:
    """StorageError unless ``path`` is missing, empty, or starts with a line of Optuna's journal."""
    try:
        with path.open("rb") as file:
            first = file.readline(1_000_000)
    except FileNotFoundError:
        return
    if not first:
        return
    try:
        entry = json.loads(first.decode("utf-8"))
        if not isinstance(entry, dict) or not isinstance(entry.get("op_code"), int):
            raise ValueError("its first line is not an operation of Optuna's")
    except (ValueError, RecursionError) as error:
        raise _not_a_journal(url, error) from None


def _not_a_journal(url: str, error: BaseException) -> StorageError:
    return StorageError(f"storage {masked(url)}: not an Optuna journal file "
                        f"({type(error).__name__}: {_first_line(error, url)[:120]})")


def _first_line(error: BaseException, url: str | None = None) -> str:
    text = scrub(str(getattr(error, "orig", None) or error), url).strip()
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
            if url.startswith(JOURNAL_PREFIX) and not isinstance(error, DeltapropError | OSError):
                raise _not_a_journal(url, error) from None
            if isinstance(error, DeltapropError | ValueError | TypeError):
                raise
            raise StorageError(f"storage {masked(url)}: {_first_line(error, url)}") from None
    if study.direction.name.lower() != direction:
        raise ValueError(f"study {name!r} in {masked(url)} {study.direction.name.lower()}s its "
                         f"objective, this space's metric is to {direction}; choose another --study")
    return study
