"""The results as tables: built once as (title, header, rows) and printed with rich or as Markdown."""

from __future__ import annotations

from typing import Any

from results import medians, ratio, targets
from runs import MEMORY_TARGET_MB

Table = tuple[str, list[str], list[list[str]]]


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def _load(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _met(met: bool | None) -> str:
    return "" if met is None else ("yes" if met else "NO")


def epoch_table(report: dict[str, Any]) -> Table:
    header = ["run", "dtype", "rows", "threads", "deltaprop fit", "(its epoch)", "PyTorch",
              "sklearn", "book loop", "deltaprop / PyTorch", "target", "met",
              "deltaprop / sklearn", "book / deltaprop", "load"]
    rows = []
    for entry in report["runs"]:
        m = medians(entry["times"])
        dp_torch = ratio(entry, "deltaprop", "torch")
        dp_sklearn = ratio(entry, "deltaprop", "sklearn")
        book_dp = ratio(entry, "book", "deltaprop")
        book = _seconds(m.get("book"))
        if book and entry.get("book_rows") and entry["book_rows"] < entry["rows"]:
            book += f" (×{entry['rows'] / entry['book_rows']:g})"
        rows.append([
            entry["run"], entry["dtype"], f"{entry['rows']:,}", str(entry["threads"]),
            _seconds(m.get("deltaprop")), _seconds(m.get("deltaprop_epoch")), _seconds(m.get("torch")),
            _seconds(m.get("sklearn")), book,
            "" if dp_torch is None else f"{dp_torch:.3f}", f"≤ {entry['target']}",
            _met(None if dp_torch is None else dp_torch <= entry["target"]),
            "" if dp_sklearn is None else f"{dp_sklearn:.3f}",
            "" if book_dp is None else f"{book_dp:.1f}×", _load(entry.get("load_average")),
        ])
    repeat = report["settings"].get("repeat")
    return (f"One training epoch, seconds (median of {repeat}, contenders interleaved; load: the "
            f"1-minute load average as the run started)", header, rows)


def memory_table(report: dict[str, Any]) -> Table:
    header = ["run", "dtype", "rows", "data MB", "model MB", "added by fit, MB", "target", "met",
              "method"]
    rows = [[e["run"], e["dtype"], f"{e['rows']:,}", f"{e['data_mb']:.0f}", f"{e['model_mb']:.2f}",
             f"{e['added_mb']:.1f}", f"≤ {MEMORY_TARGET_MB:g}", _met(e["added_mb"] <= MEMORY_TARGET_MB),
             e["method"]] for e in report["memory"]]
    return ("Peak memory a fit(epochs=1) adds beyond data and model (fresh process)", header, rows)


def e2e_table(report: dict[str, Any]) -> Table:
    e2e = report.get("end_to_end") or {}
    header = ["recipe", "data", "threads", "deltaprop train", "PyTorch script", "ratio", "target",
              "met", "load"]
    rows = []
    if e2e.get("times"):
        m = medians(e2e["times"])
        value = ratio(e2e, "deltaprop", "torch")
        rows.append(["1 epoch + validation + test", e2e["data"], str(e2e["threads"]),
                     _seconds(m.get("deltaprop")), _seconds(m.get("torch")),
                     "" if value is None else f"{value:.3f}", f"≤ {e2e['target']}",
                     _met(None if value is None else value <= e2e["target"]),
                     _load(e2e.get("load_average"))])
    repeat = e2e.get("repeat")
    return (f"End to end, wall seconds of the subprocess (median of {repeat})", header, rows)


def target_table(report: dict[str, Any]) -> Table:
    rows = [[t["target"], "" if t["measured"] is None else f"{t['measured']:.3f}",
             f"≤ {t['limit']:g}", _met(t["met"])] for t in targets(report)]
    return ("Targets", ["target", "measured", "limit", "met"], rows)


def machine_line(report: dict[str, Any]) -> str:
    m = report["machine"]
    entries = report["runs"] + report["memory"] + [report.get("end_to_end") or {}]
    data = sorted({e["data"] for e in entries if e.get("data")})
    return (f"{report['date']}; {m['cpu']}, {m['cores']} cores; Python {m['python']}, numpy "
            f"{m['numpy']} (BLAS: {'; '.join(m['blas'])}), scipy {m['scipy']}, torch {m['torch']} "
            f"({m.get('torch_blas') or 'BLAS not recorded'}), "
            f"scikit-learn {m['scikit-learn']}, deltaprop {m['deltaprop']}; data: "
            f"{', '.join(data) or '-'}; load average at start {m['load_average']:.1f}; "
            f"status: {report['status']}")


def tables(report: dict[str, Any]) -> list[Table]:
    """The tables that have rows."""
    found = [epoch_table(report), memory_table(report), e2e_table(report), target_table(report)]
    return [table for table in found if table[2]]


def print_rich(report: dict[str, Any], console: Any) -> None:
    from rich.table import Table as RichTable

    for title, header, rows in tables(report):
        table = RichTable(title=title)
        for i, column in enumerate(header):
            table.add_column(column, justify="left" if i == 0 or column == "method" else "right")
        for row in rows:
            table.add_row(*(f"[red]{cell}[/]" if cell == "NO" else cell for cell in row))
        console.print(table)
    console.print(machine_line(report), highlight=False)


def markdown(report: dict[str, Any]) -> str:
    """The tables in Markdown (for docs/benchmarks.md)."""
    lines = []
    for title, header, rows in tables(report):
        lines += [f"**{title}**", "", "| " + " | ".join(header) + " |",
                  "|" + "|".join(["---"] + ["--:"] * (len(header) - 1)) + "|"]
        lines += ["| " + " | ".join("**no**" if cell == "NO" else cell for cell in row) + " |"
                  for row in rows]
        lines.append("")
    lines.append(machine_line(report))
    return "\n".join(lines) + "\n"
