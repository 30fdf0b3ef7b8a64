"""Hyperparameter sweeps on Optuna: the book's chapter-3 search for η, λ, sizes, from one machine
to many (``deltaprop sweep``; docs/sweep.md).

    import deltaprop.sweep
    study = deltaprop.sweep.run("space.toml", n_trials=20, jobs=2)
    study.best_params

``space`` (``deltaprop.sweep.space``) reads and checks the search space; ``objective`` trains one
trial (and stops it cleanly on a signal); ``runner`` runs the workers on a study in any optuna
storage (``storage``); ``outputs`` writes trials.csv, best/ and the plots. optuna
is an optional dependency: ``pip install 'deltaprop[sweep]'`` (and ``'deltaprop[postgresql]'``
for a PostgreSQL storage); it is imported only when a sweep runs.
"""

from deltaprop.sweep.runner import count_finished, run
from deltaprop.sweep.space import METRICS, Space, load_space
from deltaprop.sweep.storage import MissingExtra, StorageError

__all__ = ["METRICS", "MissingExtra", "Space", "StorageError", "count_finished", "load_space", "run"]
