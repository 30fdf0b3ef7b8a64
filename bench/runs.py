"""What the suite measures: the runs (network, recipe, data size, contenders), the quick and full
suites, and the targets the measurements are checked against."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

CONTENDERS = ("deltaprop", "torch", "sklearn", "book")
DTYPES = ("float64", "float32")
LABELS = {"deltaprop": "deltaprop", "torch": "PyTorch", "sklearn": "scikit-learn", "book": "book loop"}


@dataclass(frozen=True)
class Run:
    """One timed configuration: one epoch of this recipe on ``rows`` MNIST training rows."""

    name: str
    sizes: tuple[int, ...]
    batch_size: int
    rows: int
    dtypes: tuple[str, ...]
    threads: int
    contenders: tuple[str, ...]
    target: float  # deltaprop / PyTorch, at most
    activation: str = "sigmoid"
    output_activation: str | None = None
    cost: str = "quadratic"
    eta: float = 3.0
    momentum: float = 0.0

    @property
    def parameters(self) -> int:
        return sum(a * b + b for a, b in zip(self.sizes[:-1], self.sizes[1:], strict=True))

    def describe(self) -> str:
        hidden = self.activation if self.output_activation is None else (
            f"{self.activation} + {self.output_activation} output")
        extra = f", momentum {self.momentum}" if self.momentum else ""
        return (f"{list(self.sizes)} {hidden}, {self.cost.replace('_', '-')} cost, η={self.eta}"
                f"{extra}, batch {self.batch_size}, {self.rows:,} rows")

    def spec(self) -> dict[str, Any]:
        """The JSON-ready fields a worker subprocess needs."""
        return {"name": self.name, "sizes": list(self.sizes), "batch_size": self.batch_size,
                "rows": self.rows, "activation": self.activation,
                "output_activation": self.output_activation, "cost": self.cost, "eta": self.eta,
                "momentum": self.momentum}


def run_from_spec(spec: dict[str, Any]) -> Run:
    return Run(spec["name"], tuple(spec["sizes"]), spec["batch_size"], spec["rows"], (), 1, (), 0.0,
               spec["activation"], spec["output_activation"], spec["cost"], spec["eta"],
               spec["momentum"])


RUNS: dict[str, Run] = {
    "A": Run("A", (784, 30, 10), 10, 50_000, DTYPES, 1, CONTENDERS, 0.15),
    "B": Run("B", (784, 100, 10), 10, 50_000, DTYPES, 1, CONTENDERS, 0.15),
    "C": Run("C", (784, 1024, 1024, 10), 256, 20_000, ("float32",), 2, ("deltaprop", "torch"), 1.0),
    "D": Run("D", (784, 256, 128, 10), 64, 50_000, ("float32",), 2, ("deltaprop", "torch"), 1.0,
             activation="relu", output_activation="softmax", cost="log_likelihood", eta=0.05,
             momentum=0.9),
}

#: The end-to-end recipe: ``deltaprop train`` and a PyTorch script doing the same, as subprocesses.
E2E_OPTIONS = ("--hidden", "256,128", "--activation", "relu", "--output-activation", "softmax",
               "--cost", "log_likelihood", "--momentum", "0.9", "--eta", "0.05",
               "--batch-size", "64", "--epochs", "1", "--dtype", "float32")
E2E_THREADS = 2
E2E_TARGET = 1.0
MEMORY_TARGET_MB = 60.0
MEMORY_RUNS = ("A", "B")  # float64, full rows


@dataclass
class Suite:
    """A selection of runs and how long to spend on each."""

    name: str
    runs: list[Run]
    repeat: int
    book_rows: int
    memory: list[str] = field(default_factory=list)  # run names, measured in float64
    memory_rows: int | None = None  # None: the run's full rows
    e2e_repeat: int = 0  # 0: no end-to-end comparison

    def plan(self) -> list[str]:
        """What the suite runs, one line each, for printing before it starts."""
        lines = [f"{self.name} suite: every (run, dtype) in a fresh subprocess, contenders "
                 f"interleaved, median of {self.repeat}"]
        for run in self.runs:
            who = ", ".join(LABELS[c] for c in run.contenders)
            book = f" (book loop on {min(self.book_rows, run.rows):,} rows, extrapolated)" if (
                "book" in run.contenders) else ""
            lines.append(f"  {run.name} {run.describe()}; {'/'.join(run.dtypes)}, "
                         f"{run.threads} thread{'s' * (run.threads > 1)}: {who}{book}")
        for name in self.memory:
            lines.append(f"  memory: peak added by fit, run {name} float64, "
                         f"{self.memory_rows or RUNS[name].rows:,} rows, 1 thread")
        if self.e2e_repeat:
            lines.append(f"  end to end: 'deltaprop train' vs a PyTorch script, 1 epoch of MNIST "
                         f"(relu 256,128, softmax, log-likelihood, momentum 0.9, batch 64, float32) "
                         f"+ validation and test, {E2E_THREADS} threads, median of {self.e2e_repeat}")
        return lines


def full_suite() -> Suite:
    return Suite("full", list(RUNS.values()), repeat=5, book_rows=5_000, memory=list(MEMORY_RUNS),
                 e2e_repeat=5)


def quick_suite() -> Suite:
    """Every run at reduced rows and repeats; memory of run A; one end-to-end pair (< 3 minutes)."""
    rows = {"A": 20_000, "B": 20_000, "C": 4_096, "D": 20_000}
    return Suite("quick", [replace(run, rows=rows[run.name]) for run in RUNS.values()], repeat=3,
                 book_rows=2_000, memory=["A"], e2e_repeat=1)
