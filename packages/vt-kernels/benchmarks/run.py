"""The benchmark harness: times every benchmarks/cases_*.py Case against torch eager and
torch.compile on one GPU, checks vt's outputs against torch's, and writes the report.

    python benchmarks/run.py [--kernels rms_norm,softmax] [--tags targets] [--out DIR] [--quick]
                             [--no-compile]

torch.compile compiles each case afresh (static shapes), several seconds a case: --quick compiles
only the cases tagged "targets", --no-compile none; --kernels splits a long run.

Times are medians of CUDA-event timings taken around the call only, with the GPU held back
(a short device sleep) while the host queues the call, so they are device times. L2 is flushed (a 256 MB
zero_()) before each timed run when the case's working set fits in twice the L2 size, so small
cases are timed from HBM as in a real model step. Writes DIR/results.json, DIR/report.md,
DIR/speedup.png and DIR/floor.png (default DIR: benchmarks/results/<device-slug>/).
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import math
import re
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))  # the cases modules import `case`; run.py imports `report`

import torch  # noqa: E402

import report  # noqa: E402

FLUSH_BYTES = 256 * 2**20
# ~1 ms of GPU clock: longer than either library's host time per call (up to ~0.45 ms for a
# forward + backward through autograd), so no call's launches wait for its host.
HOST_LEAD_CYCLES = 2_000_000
COPY_BYTES = 2**30
DIRECTIONS = ("fwd", "bwd", "fwd+bwd")


# ---------------------------------------------------------------------------------------------
# collecting cases


def _load(path: Path):
    """Imports a cases module from its file, fresh, under its own name."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(path.stem, None)
        raise
    return module


def collect_cases(kernels=None, tags=None, directory: Path = HERE, log=print):
    """(cases, skipped): the Cases of every cases_*.py module in `directory` whose kernel is in
    `kernels` and that carry one of `tags` (None: all); `skipped` maps each module that failed
    to import to why."""
    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))
    cases, skipped = [], {}
    for path in sorted(Path(directory).glob("cases_*.py")):
        try:
            module_cases = list(_load(path).CASES)
        except Exception as exc:
            skipped[path.stem] = describe(exc)
            log(f"skipping {path.name}: {skipped[path.stem]}")
            continue
        for case in module_cases:
            if kernels and case.kernel not in kernels:
                continue
            if tags and not set(tags) & set(case.tags):
                continue
            cases.append(case)
    return cases, skipped


# ---------------------------------------------------------------------------------------------
# checking


def describe(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0][:300]}" if lines else type(exc).__name__


def tensors_of(value) -> list:
    """The tensors in a result: a tensor, or nested tuples / lists / dicts of them."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in tensors_of(v)]
    return []


def error_stats(vt_result, torch_result) -> tuple[float, float]:
    """(max abs error, max abs error / max |torch|) over every output, the worst output's."""
    ours, theirs = tensors_of(vt_result), tensors_of(torch_result)
    if len(ours) != len(theirs) or not ours:
        raise ValueError(f"vt returned {len(ours)} tensors and torch {len(theirs)}")
    worst_abs = worst_rel = 0.0
    for v, t in zip(ours, theirs):
        if v.shape != t.shape:
            raise ValueError(f"vt output shape {tuple(v.shape)} != torch {tuple(t.shape)}")
        if v.numel() == 0:
            continue
        diff = (v.detach().double() - t.detach().double()).abs().max().item()
        scale = t.detach().double().abs().max().item()
        rel = diff / scale if scale > 0 else diff
        if math.isnan(diff):
            return math.nan, math.nan
        worst_abs, worst_rel = max(worst_abs, diff), max(worst_rel, rel)
    return worst_abs, worst_rel


# ---------------------------------------------------------------------------------------------
# timing


def _leaf_grads(d: dict) -> list:
    return [t for t in tensors_of(d) if t.requires_grad and t.is_leaf]


def _clear(grads):
    for t in grads:
        t.grad = None


def time_call(fn, d, *, warmup: int, min_reps: int, max_reps: int, budget_ms: float,
              flush=None, grads=()) -> float:
    """Median milliseconds of fn(d) over as many runs as fit `budget_ms` (within the bounds)."""
    for _ in range(warmup):
        _clear(grads)
        fn(d)
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    _clear(grads)
    start.record()
    fn(d)
    end.record()
    torch.cuda.synchronize()
    estimate = max(start.elapsed_time(end), 1e-3)
    reps = max(min_reps, min(max_reps, int(budget_ms / estimate)))
    starts = [torch.cuda.Event(enable_timing=True) for _ in range(reps)]
    ends = [torch.cuda.Event(enable_timing=True) for _ in range(reps)]
    for i in range(reps):
        _clear(grads)
        if flush is not None:
            flush.zero_()
        # The GPU waits while the host queues the call, so the events time the device work and
        # not the Python and launch overhead of either library (the kernels' cost to a model
        # whose host runs ahead of its GPU).
        torch.cuda._sleep(HOST_LEAD_CYCLES)
        starts[i].record()
        fn(d)
        ends[i].record()
    torch.cuda.synchronize()
    return statistics.median(s.elapsed_time(e) for s, e in zip(starts, ends))


def copy_bandwidth(settings: dict) -> float:
    """Device-to-device copy bandwidth in bytes/s (bytes read + bytes written), 1 GiB copies."""
    src = torch.empty(COPY_BYTES, dtype=torch.uint8, device="cuda")
    dst = torch.empty_like(src)
    ms = time_call(lambda _: dst.copy_(src), None, **settings)
    del src, dst
    torch.cuda.empty_cache()
    return 2 * COPY_BYTES / (ms * 1e-3)


SETTINGS = {
    "full": dict(warmup=10, min_reps=10, max_reps=100, budget_ms=300.0),
    "quick": dict(warmup=3, min_reps=5, max_reps=20, budget_ms=60.0),
}


# ---------------------------------------------------------------------------------------------
# one row per case


def base_row(case) -> dict:
    return {
        "kernel": case.kernel, "direction": case.direction, "shape": case.shape,
        "dtype": case.dtype, "tags": list(case.tags), "bytes": case.bytes, "flops": case.flops,
        "flushed": None, "vt_ms": None, "torch_ms": None, "compile_ms": None,
        "max_abs": None, "max_rel": None, "errors": {},
    }


def derive(row: dict, copy_bw: float) -> dict:
    """Adds speedups (torch time / vt time: > 1 means vt is faster), TFLOP/s for cases with
    flops, else TB/s and the % of the copy-bandwidth floor for cases with bytes."""
    vt, eager, compiled = row["vt_ms"], row["torch_ms"], row["compile_ms"]
    row["speedup_eager"] = eager / vt if vt and eager else None
    row["speedup_compile"] = compiled / vt if vt and compiled else None
    row["tflops"] = row["torch_tflops"] = row["tbps"] = None
    row["floor_ms"] = row["pct_floor"] = row["torch_pct_floor"] = None
    if row["flops"]:
        row["tflops"] = row["flops"] / (vt * 1e9) if vt else None
        row["torch_tflops"] = row["flops"] / (eager * 1e9) if eager else None
    elif row["bytes"]:
        row["floor_ms"] = row["bytes"] / copy_bw * 1e3
        row["tbps"] = row["bytes"] / (vt * 1e9) if vt else None
        row["pct_floor"] = 100 * row["floor_ms"] / vt if vt else None
        row["torch_pct_floor"] = 100 * row["floor_ms"] / eager if eager else None
    return row


def run_case(case, settings: dict, flush_buffer, l2_bytes: int, copy_bw: float,
             compile_torch: bool) -> dict:
    row = base_row(case)
    try:
        d = case.setup()
    except Exception as exc:
        row["errors"]["setup"] = describe(exc)
        return derive(row, copy_bw)
    try:
        grads = _leaf_grads(d) if case.direction == "fwd+bwd" else []
        # Small working sets would otherwise be served from L2 on every timed run.
        small = case.bytes is None or case.bytes <= 2 * l2_bytes
        flush = flush_buffer if small else None
        row["flushed"] = small
        pick = case.outputs or (lambda result: result)
        try:
            _clear(grads)
            ours = pick(case.vt(d))
            _clear(grads)
            theirs = pick(case.torch(d))
            row["max_abs"], row["max_rel"] = error_stats(ours, theirs)
            del ours, theirs
        except Exception as exc:
            row["errors"]["check"] = describe(exc)
        fns = [("vt", case.vt), ("torch", case.torch)]
        if compile_torch and case.compile:
            torch._dynamo.reset()  # a fresh cache per case: shapes do not count as recompiles
            fns.append(("compile", torch.compile(case.torch)))
        for name, fn in fns:
            try:
                row[f"{name}_ms"] = time_call(fn, d, flush=flush, grads=grads, **settings)
            except Exception as exc:
                row["errors"][name] = describe(exc)
    finally:
        del d
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
    return derive(row, copy_bw)


# ---------------------------------------------------------------------------------------------
# the command line


def device_slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "device"


def _versions() -> dict:
    try:
        import triton
        triton_version = triton.__version__
    except ImportError:
        triton_version = None
    return {"torch": torch.__version__, "triton": triton_version}


def _summary_line(row: dict) -> str:
    def ms(x):
        return f"{x:.4f}" if x is not None else "n/a"
    rate = (f"{row['tflops']:.0f} TFLOP/s" if row["tflops"] else
            f"{row['tbps']:.2f} TB/s ({row['pct_floor']:.0f}% floor)" if row["tbps"] else "")
    errors = f"  errors: {row['errors']}" if row["errors"] else ""
    return (f"{row['kernel']:>14} {row['direction']:>7} {row['shape']:<28} {row['dtype']:<9} "
            f"vt {ms(row['vt_ms'])} torch {ms(row['torch_ms'])} compile {ms(row['compile_ms'])} "
            f"{rate}{errors}")


def _split(text):
    return [x.strip() for x in text.split(",") if x.strip()] if text else None


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kernels", help="comma-separated kernel names (default: all)")
    parser.add_argument("--tags", help="comma-separated tags; a case runs if it has one")
    parser.add_argument("--out", help="output folder (default: benchmarks/results/<device>)")
    parser.add_argument("--quick", action="store_true",
                        help="fewer warmup and timed runs; torch.compile only for cases tagged targets")
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile timings")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if not torch.cuda.is_available():
        print("benchmarks/run.py needs a CUDA GPU", file=sys.stderr)
        return 2
    began = time.time()
    cases, skipped = collect_cases(_split(args.kernels), _split(args.tags))
    props = torch.cuda.get_device_properties(torch.cuda.current_device())
    out = Path(args.out) if args.out else HERE / "results" / device_slug(props.name)
    out.mkdir(parents=True, exist_ok=True)
    settings = SETTINGS["quick" if args.quick else "full"]
    l2_bytes = getattr(props, "L2_cache_size", 50 * 2**20)
    copy_bw = copy_bandwidth(settings)
    print(f"{props.name}: copy bandwidth {copy_bw / 1e12:.2f} TB/s, L2 {l2_bytes / 2**20:.0f} MiB, "
          f"{len(cases)} cases", flush=True)
    meta = {
        "device": props.name, **_versions(), "copy_bandwidth_tbps": copy_bw / 1e12,
        "l2_bytes": l2_bytes, "mode": "quick" if args.quick else "full",
        "compile": "off" if args.no_compile else "targets only" if args.quick else "all",
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "skipped_modules": skipped, "flush_bytes": FLUSH_BYTES,
    }
    flush_buffer = torch.empty(FLUSH_BYTES, dtype=torch.int8, device="cuda")
    rows = []
    for case in cases:
        compile_torch = not args.no_compile and (not args.quick or "targets" in case.tags)
        rows.append(run_case(case, settings, flush_buffer, l2_bytes, copy_bw, compile_torch))
        print(_summary_line(rows[-1]), flush=True)
        # Written after every case so that a run cut short still leaves its results.
        (out / "results.json").write_text(json.dumps({**meta, "rows": rows}, indent=1))
    meta["seconds"] = round(time.time() - began, 1)
    (out / "results.json").write_text(json.dumps({**meta, "rows": rows}, indent=1))
    paths = report.write_report(meta, rows, out)
    print(f"wrote {out / 'results.json'}, " + ", ".join(str(p) for p in paths.values())
          + f" in {meta['seconds']} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
