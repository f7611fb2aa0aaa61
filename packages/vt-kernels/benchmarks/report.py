"""The benchmark report: Markdown tables per kernel and two bar charts, from run.py's rows.

Rows are dicts as run.py writes them to results.json (times in ms, speedup = torch time / vt
time, so > 1 means vt is faster). `write_report(meta, rows, out_dir)` writes report.md,
speedup.png and floor.png.
"""

from __future__ import annotations

import math
from pathlib import Path

FLOOR_TARGET = 85.0  # % of the copy-bandwidth floor that memory-bound kernels aim for


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _num(x, fmt: str) -> str:
    return "n/a" if _missing(x) else format(x, fmt)


def _speedup(x) -> str:
    return "n/a" if _missing(x) else f"{x:.2f}x"


def _rate(row: dict) -> str:
    if not _missing(row.get("tflops")):
        return f"{row['tflops']:.0f} TFLOP/s"
    if not _missing(row.get("tbps")):
        return f"{row['tbps']:.2f} TB/s"
    return "n/a"


def _label(row: dict) -> str:
    return f"{row['kernel']} {row['direction']} {row['shape']} {row['dtype']}"


def _geomean(values) -> float | None:
    values = [v for v in values if not _missing(v) and v > 0]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


COLUMNS = ("shape", "dtype", "dir", "vt ms", "torch ms", "compile ms", "vs eager", "vs compile",
           "TB/s or TFLOP/s", "% of floor", "max abs err", "max rel err")


def _table_row(row: dict) -> str:
    cells = (row["shape"], row["dtype"], row["direction"], _num(row["vt_ms"], ".4f"),
             _num(row["torch_ms"], ".4f"), _num(row["compile_ms"], ".4f"),
             _speedup(row.get("speedup_eager")), _speedup(row.get("speedup_compile")),
             _rate(row), _num(row.get("pct_floor"), ".0f"), _num(row["max_abs"], ".2e"),
             _num(row["max_rel"], ".2e"))
    return "| " + " | ".join(str(c) for c in cells) + " |"


def markdown(meta: dict, rows: list[dict]) -> str:
    bw = meta.get("copy_bandwidth_tbps")
    lines = [
        "# vt-kernels benchmarks", "",
        f"- device: {meta.get('device', 'n/a')}; torch {meta.get('torch', 'n/a')}, "
        f"triton {meta.get('triton', 'n/a')}; {meta.get('date', '')}",
        f"- measured device-to-device copy bandwidth: {_num(bw, '.2f')} TB/s (read + write of a "
        "1 GiB copy); the floor of a memory-bound case is its fewest bytes / that bandwidth",
        f"- mode: {meta.get('mode', 'n/a')}; torch.compile timed for: {meta.get('compile', 'n/a')} "
        "cases; median of CUDA-event timings around the call only; "
        "L2 flushed before each timed run when the working set fits in 2x L2",
        "- vs eager / vs compile: torch time / vt time (> 1: vt is faster); max rel err: max abs "
        "error / max |torch output|",
    ]
    if meta.get("seconds") is not None:
        lines.append(f"- run time: {meta['seconds']} s")
    for module, why in sorted(meta.get("skipped_modules", {}).items()):
        lines.append(f"- skipped {module}: {why}")
    kernels = list(dict.fromkeys(row["kernel"] for row in rows))
    for kernel in kernels:
        mine = [row for row in rows if row["kernel"] == kernel]
        eager = _geomean(row.get("speedup_eager") for row in mine)
        compiled = _geomean(row.get("speedup_compile") for row in mine)
        timed = [row["speedup_eager"] for row in mine if not _missing(row.get("speedup_eager"))]
        faster = sum(1 for speedup in timed if speedup > 1)
        lines += ["", f"## {kernel}", "",
                  f"vt is faster than torch eager in {faster} of {len(timed)} timed cases; geometric "
                  f"mean speedup vs eager {_speedup(eager)}, vs torch.compile {_speedup(compiled)}.",
                  "", "| " + " | ".join(COLUMNS) + " |",
                  "|" + "|".join("---" for _ in COLUMNS) + "|"]
        lines += [_table_row(row) for row in mine]
        notes = [f"- {row['direction']} {row['shape']} {row['dtype']}: {stage}: {why}"
                 for row in mine for stage, why in row.get("errors", {}).items()]
        if notes:
            lines += ["", "Errors:", ""] + notes
    return "\n".join(lines) + "\n"


def _figure(n_bars: int):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(10, 1.5 + 0.32 * max(n_bars, 1)))
    return plt, fig, ax


def _empty_plot(path: Path, message: str):
    plt, fig, ax = _figure(1)
    ax.text(0.5, 0.5, message, ha="center", va="center")
    ax.set_axis_off()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _bars(path: Path, rows: list[dict], series: list[tuple[str, str]], xlabel: str,
          reference: float, log: bool):
    """Horizontal grouped bars from `reference` to each value, one group per row, one bar per
    (key, legend) series; missing values draw no bar."""
    plt, fig, ax = _figure(len(rows))
    height = 0.8 / len(series)
    origin = reference if log else 0.0
    for i, (key, legend) in enumerate(series):
        present = [(y, row[key]) for y, row in enumerate(rows) if not _missing(row.get(key))]
        ax.barh([y + (i - (len(series) - 1) / 2) * height for y, _ in present],
                [value - origin for _, value in present], left=origin, height=height, label=legend)
    ax.axvline(reference, color="black", linewidth=0.8, linestyle="--")
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([_label(row) for row in rows], fontsize=7)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    if log:
        # Speedups either side of 1 read symmetrically on a log axis, ticked at powers of two.
        values = [row[key] for row in rows for key, _ in series if not _missing(row.get(key))]
        low = math.floor(math.log2(min(values + [reference])))
        high = math.ceil(math.log2(max(values + [reference])))
        ax.set_xscale("log", base=2)
        ticks = [2.0 ** e for e in range(low, high + 1)]
        ax.set_xticks(ticks)
        ax.set_xticklabels([f"{t:g}x" for t in ticks])
        ax.set_xlim(ticks[0] / 1.1, ticks[-1] * 1.1)
    ax.set_xlabel(xlabel)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_speedup(rows: list[dict], path: Path):
    timed = [row for row in rows if not _missing(row.get("speedup_eager"))
             or not _missing(row.get("speedup_compile"))]
    if not timed:
        return _empty_plot(path, "no timed cases")
    _bars(path, timed, [("speedup_eager", "vs torch eager"), ("speedup_compile", "vs torch.compile")],
          "speedup (torch time / vt time; > 1: vt faster)", 1.0, log=True)


def plot_floor(rows: list[dict], path: Path):
    bound = [row for row in rows if not _missing(row.get("pct_floor"))
             or not _missing(row.get("torch_pct_floor"))]
    if not bound:
        return _empty_plot(path, "no memory-bound cases")
    _bars(path, bound, [("pct_floor", "vt"), ("torch_pct_floor", "torch eager")],
          f"% of the copy-bandwidth floor (target {FLOOR_TARGET:.0f}%)", FLOOR_TARGET, log=False)


def write_report(meta: dict, rows: list[dict], out_dir) -> dict[str, Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"markdown": out / "report.md", "speedup": out / "speedup.png",
             "floor": out / "floor.png"}
    paths["markdown"].write_text(markdown(meta, rows))
    plot_speedup(rows, paths["speedup"])
    plot_floor(rows, paths["floor"])
    return paths


if __name__ == "__main__":
    # Rebuilds the report of a finished run: python benchmarks/report.py DIR
    import json
    import sys

    folder = Path(sys.argv[1])
    data = json.loads((folder / "results.json").read_text())
    result_rows = data.pop("rows")
    print("\n".join(str(p) for p in write_report(data, result_rows, folder).values()))
