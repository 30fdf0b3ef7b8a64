"""Running a suite: the timed runs, the memory figures and the end-to-end pair, one after another,
each measurement saved to the results file as it comes.

A measurement that fails (a worker or a subprocess exits with an error) is recorded under ``errors``
and the suite goes on with the next one; Ctrl-C stops it, with the results so far saved.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import datasource
import endtoend
import results
import runs
import worker

INTERRUPTED = 128 + signal.SIGINT


@dataclass
class Session:
    """One suite being measured: where its results go and how it reports progress."""

    suite: runs.Suite
    report: dict[str, Any]
    path: Path
    mnist: str | None
    console: Any
    threads: int | None = None  # --threads, for the end-to-end pair

    def say(self, message: str, dim: bool = True, style: str | None = None) -> None:
        self.console.print(message, style=style or ("dim" if dim else None), highlight=False,
                           markup=False)

    def save(self) -> None:
        results.save(self.report, self.path)

    def guarded(self, what: str, measure: Any, *args: Any) -> None:
        """``measure(*args)``; a RuntimeError is recorded and printed, and the suite goes on."""
        try:
            measure(*args)
        except RuntimeError as error:
            self.report.setdefault("errors", []).append(f"{what}: {error}")
            self.save()
            self.say(f"{what} failed: {error}", style="red")


def time_run(session: Session, run: runs.Run, dtype: str) -> None:
    """One (run, dtype) in its worker; each measurement saved as it comes."""
    suite, report = session.suite, session.report
    entry = results.run_entry(run, dtype, suite.book_rows)
    report["runs"].append(entry)
    spec = {"run": run.spec(), "dtype": dtype, "threads": run.threads, "mnist": session.mnist,
            "repeat": suite.repeat, "contenders": list(run.contenders), "book_rows": suite.book_rows}
    for message in worker.stream("timing", spec, run.threads):
        if message["event"] == "start":
            entry.update(data=message["data"], libraries=message["libraries"],
                         load_average=message["load"])
            if message["torch_blas"]:
                report["machine"]["torch_blas"] = message["torch_blas"]
            continue
        for name, seconds in message["seconds"].items():
            entry["times"].setdefault(name, []).append(seconds)
        session.save()
        shown = ", ".join(f"{runs.LABELS[n]} {s:.3f} s" for n, s in message["seconds"].items()
                          if n in runs.LABELS)
        session.say(f"  {run.name} {dtype} round {message['repeat'] + 1}/{suite.repeat}: {shown}")
    value = results.ratio(entry, "deltaprop", "torch")
    if value is not None:
        session.say(f"{run.name} {dtype}: deltaprop / PyTorch = {value:.3f} "
                    f"(target ≤ {run.target})", dim=False)


def measure_memory(session: Session, name: str) -> None:
    run = replace(runs.RUNS[name], rows=session.suite.memory_rows or runs.RUNS[name].rows)
    spec = {"run": run.spec(), "dtype": "float64", "threads": 1, "mnist": session.mnist}
    for message in worker.stream("memory", spec, 1):
        message.pop("event")
        session.report["memory"].append(message)
        session.save()
        session.say(f"memory {name} float64: a fit adds {message['added_mb']:.1f} MB to the peak "
                    f"(target ≤ {runs.MEMORY_TARGET_MB:g})", dim=False)


def end_to_end(session: Session) -> None:
    threads, repeat = session.threads or runs.E2E_THREADS, session.suite.e2e_repeat
    e2e: dict[str, Any] = {"threads": threads, "repeat": repeat, "target": runs.E2E_TARGET,
                           "data": "MNIST" if session.mnist else "random", "times": {},
                           "commands": {}, "load_average": os.getloadavg()[0]}
    session.report["end_to_end"] = e2e
    for message in endtoend.measure(session.mnist, threads, repeat):
        e2e["times"].setdefault(message["contender"], []).append(message["seconds"])
        e2e["commands"][message["contender"]] = message["command"]
        session.save()
        session.say(f"  end to end round {message['repeat'] + 1}/{repeat}: "
                    f"{runs.LABELS[message['contender']]} {message['seconds']:.2f} s")
    value = results.ratio(e2e, "deltaprop", "torch")
    session.say(f"end to end: deltaprop train / PyTorch script = {value:.3f} "
                f"(target ≤ {runs.E2E_TARGET})", dim=False)


def announce(session: Session, explicit: str | None) -> None:
    """What the suite runs, on what data, and where the results go: printed before it starts
    (``explicit``: the folder --mnist named, if any)."""
    for line in session.suite.plan():
        session.say(line, dim=False)
    if session.mnist:
        session.say(f"data: MNIST from {session.mnist}", dim=False)
    else:
        looked = ", ".join(str(p) for p in datasource.candidates(explicit))
        session.say(f"data: RANDOM, of MNIST's shape (no MNIST IDX files in {looked}; "
                    f"use --mnist DIR)", style="yellow")
    session.say(f"results: {session.path}, rewritten after every measurement", dim=False)


def run_suite(session: Session) -> int:
    """Everything the suite holds; 0 done, 1 something failed, 130 interrupted (Ctrl-C)."""
    report, suite = session.report, session.suite
    started = time.perf_counter()
    try:
        session.save()
        for run in suite.runs:
            for dtype in run.dtypes:
                session.guarded(f"run {run.name} {dtype}", time_run, session, run, dtype)
        for name in suite.memory:
            session.guarded(f"memory {name}", measure_memory, session, name)
        if suite.e2e_repeat:
            session.guarded("end to end", end_to_end, session)
        report["status"] = "failed" if report.get("errors") else "complete"
    except KeyboardInterrupt:
        report["status"] = "interrupted"
    report["seconds"] = time.perf_counter() - started
    session.save()
    return {"complete": 0, "failed": 1, "interrupted": INTERRUPTED}[report["status"]]
