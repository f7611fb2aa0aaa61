"""CPU tests of the benchmark harness: case collection, error statistics, the report."""

import gc
import importlib.util
import math
import time
from pathlib import Path

import pytest
import torch

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


run = _load("vt_benchmarks_run", BENCH / "run.py")  # puts benchmarks/ on sys.path
report = _load("vt_benchmarks_report", BENCH / "report.py")
from case import Case  # noqa: E402  (loading run.py put benchmarks/ on sys.path)


def fake_rows():
    memory = run.base_row(Case("rms_norm", "fwd", "(4096, 8192)", "bfloat16", None, None, None,
                               bytes=2 * 4096 * 8192 * 2, tags=("targets",)))
    memory.update(vt_ms=0.0345, torch_ms=0.0641, compile_ms=None, max_abs=3.9e-3, max_rel=1.2e-3)
    memory["errors"]["compile"] = "BackendCompilerFailed: boom"
    compute = run.base_row(Case("gemm", "fwd", "(4096, 4096, 4096) bias+gelu", "bfloat16", None,
                                None, None, flops=2 * 4096**3))
    compute.update(vt_ms=0.251, torch_ms=0.229, compile_ms=0.231, max_abs=0.0, max_rel=0.0)
    failed = run.base_row(Case("gemm", "fwd+bwd", "(128, 4096, 4096)", "bfloat16", None, None,
                               None, flops=6 * 128 * 4096**2))
    failed["errors"]["vt"] = "OutOfMemoryError: CUDA out of memory"
    return [run.derive(row, copy_bw=4.0e12) for row in (memory, compute, failed)]


META = {"device": "NVIDIA H200", "torch": "2.11", "triton": "3.6.0", "copy_bandwidth_tbps": 4.0,
        "mode": "quick", "skipped_modules": {"cases_broken": "ImportError: no module"}}


def test_derive_computes_speedups_rates_and_the_floor():
    memory, compute, failed = fake_rows()
    assert memory["speedup_eager"] == pytest.approx(0.0641 / 0.0345)
    assert memory["speedup_compile"] is None
    assert memory["floor_ms"] == pytest.approx(2 * 4096 * 8192 * 2 / 4.0e12 * 1e3)
    assert memory["pct_floor"] == pytest.approx(100 * memory["floor_ms"] / 0.0345)
    assert memory["tbps"] == pytest.approx(2 * 4096 * 8192 * 2 / 0.0345e-3 / 1e12)
    assert memory["tflops"] is None
    assert compute["tflops"] == pytest.approx(2 * 4096**3 / 0.251e-3 / 1e12)
    assert compute["pct_floor"] is None and compute["speedup_compile"] == pytest.approx(0.231 / 0.251)
    assert failed["speedup_eager"] is None and failed["tflops"] is None


def test_markdown_has_a_table_per_kernel_with_every_row():
    text = report.markdown(META, fake_rows())
    assert "## rms_norm" in text and "## gemm" in text
    assert "NVIDIA H200" in text and "4.00 TB/s" in text
    assert "| (4096, 8192) | bfloat16 | fwd | 0.0345 | 0.0641 | n/a | 1.86x | n/a |" in text
    assert "| (4096, 4096, 4096) bias+gelu | bfloat16 | fwd | 0.2510 | 0.2290 | 0.2310 | 0.91x | 0.92x | 548 TFLOP/s | n/a |" in text
    assert "| (128, 4096, 4096) | bfloat16 | fwd+bwd | n/a | n/a | n/a |" in text
    assert "compile: BackendCompilerFailed: boom" in text
    assert "vt: OutOfMemoryError" in text
    assert "skipped cases_broken: ImportError" in text
    assert "vt is faster than torch eager in 0 of 1 timed cases" in text


def test_report_writes_markdown_and_non_empty_pngs(tmp_path):
    paths = report.write_report(META, fake_rows(), tmp_path / "out")
    assert paths["markdown"].read_text().startswith("# vt-kernels benchmarks")
    for key in ("speedup", "floor"):
        data = paths[key].read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000
    # No memory-bound rows still gives a (labelled) floor chart.
    paths = report.write_report(META, fake_rows()[1:], tmp_path / "compute_only")
    assert paths["floor"].stat().st_size > 0


def test_error_stats_takes_the_worst_output():
    torch_out = (torch.tensor([1.0, -4.0]), torch.tensor([[2.0]]))
    vt_out = [torch.tensor([1.5, -4.0]), torch.tensor([[2.0]])]
    max_abs, max_rel = run.error_stats(vt_out, torch_out)
    assert max_abs == pytest.approx(0.5) and max_rel == pytest.approx(0.5 / 4.0)
    assert math.isnan(run.error_stats(torch.tensor([math.nan]), torch.tensor([1.0]))[0])
    with pytest.raises(ValueError, match="shape"):
        run.error_stats(torch.zeros(2), torch.zeros(3))
    with pytest.raises(ValueError, match="returned 1 tensors and torch 2"):
        run.error_stats(torch.zeros(2), torch_out)


def test_device_slug():
    assert run.device_slug("NVIDIA H200") == "nvidia-h200"
    assert run.device_slug("NVIDIA H100 80GB HBM3") == "nvidia-h100-80gb-hbm3"


def test_collect_filters_by_kernel_and_tag_and_skips_broken_modules(tmp_path):
    (tmp_path / "cases_fake_ok.py").write_text(
        "from case import Case\n"
        "CASES = [Case('fake_a', 'fwd', '(1,)', 'float32', dict, len, len, bytes=4, tags=('targets',)),\n"
        "         Case('fake_b', 'fwd', '(2,)', 'float32', dict, len, len, bytes=8)]\n")
    (tmp_path / "cases_fake_broken.py").write_text("import a_module_that_does_not_exist\n")
    messages = []
    cases, skipped = run.collect_cases(directory=tmp_path, log=messages.append)
    assert [c.kernel for c in cases] == ["fake_a", "fake_b"]
    assert list(skipped) == ["cases_fake_broken"] and "ModuleNotFoundError" in skipped["cases_fake_broken"]
    assert messages and "cases_fake_broken.py" in messages[0]
    assert [c.kernel for c in run.collect_cases(["fake_b"], directory=tmp_path, log=str)[0]] == ["fake_b"]
    assert [c.kernel for c in run.collect_cases(tags=["targets"], directory=tmp_path, log=str)[0]] == ["fake_a"]


def test_main_without_a_gpu_says_so(capsys):
    if torch.cuda.is_available():
        pytest.skip("has a GPU")
    assert run.main(["--quick"]) == 2
    assert "needs a CUDA GPU" in capsys.readouterr().err


class _CudaAtImport(Exception):
    pass


@pytest.mark.parametrize("path", sorted(BENCH.glob("cases_*.py")), ids=lambda p: p.stem)
def test_case_modules_build_cases_lazily(path, monkeypatch):
    """Importing a cases module builds Case objects only: CUDA tensors wait for setup()."""
    def refuse():
        raise _CudaAtImport(f"{path.name} initializes CUDA at import")
    if not torch.cuda.is_initialized():  # the first CUDA allocation would initialize it
        monkeypatch.setattr(torch.cuda, "_lazy_init", refuse)
    gc.collect()  # earlier tests' garbage must not be freed (and counted) during the import
    before = torch.cuda.memory_allocated() if torch.cuda.is_initialized() else 0
    try:
        module = _load(f"vt_lazy_{path.stem}", path)
    except _CudaAtImport as exc:
        pytest.fail(str(exc))
    except Exception as exc:
        if "CUDA" in str(exc) or "NVIDIA" in str(exc):
            pytest.fail(f"{path.name} touches CUDA at import: {exc}")
        pytest.skip(f"{path.name} does not import here: {type(exc).__name__}: {exc}")
    if torch.cuda.is_initialized():
        assert torch.cuda.memory_allocated() == before, f"{path.name} allocates CUDA memory at import"
    cases = module.CASES
    assert isinstance(cases, list) and cases
    for case in cases:
        assert isinstance(case, Case)
        assert case.kernel and case.direction in run.DIRECTIONS and case.shape
        assert case.dtype in ("float32", "float16", "bfloat16")
        assert callable(case.setup) and callable(case.vt) and callable(case.torch)
        assert (case.bytes or 0) > 0 or (case.flops or 0) > 0, "a case needs bytes or flops"
        assert isinstance(case.tags, tuple)


class _HostEvent:
    """Stands in for torch.cuda.Event on CPU: host clock timestamps."""

    def __init__(self, enable_timing=False):
        self.t = None

    def record(self):
        self.t = time.perf_counter()

    def elapsed_time(self, end):
        return (end.t - self.t) * 1e3


def test_run_case_checks_times_and_clears_grads(monkeypatch):
    monkeypatch.setattr(torch.cuda, "Event", _HostEvent)
    monkeypatch.setattr(torch.cuda, "synchronize", lambda: None)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)
    monkeypatch.setattr(torch.cuda, "_sleep", lambda cycles: None)
    calls = {"vt": 0, "torch": 0}

    def setup():
        return {"x": torch.randn(64, requires_grad=True), "dy": torch.ones(64)}

    def step(name, scale):
        def run(d):
            assert d["x"].grad is None  # cleared before every run of a fwd+bwd case
            calls[name] += 1
            y = d["x"] * scale
            y.backward(d["dy"])
            return y
        return run

    case = Case("fake", "fwd+bwd", "(64,)", "float32", setup, step("vt", 2.0), step("torch", 2.0 + 1e-3),
                bytes=64 * 4 * 3)
    flush = torch.empty(16)
    row = run.run_case(case, run.SETTINGS["quick"], flush, l2_bytes=2**20, copy_bw=1e12,
                       compile_torch=False)
    assert row["errors"] == {}
    assert row["flushed"] is True
    assert row["vt_ms"] > 0 and row["torch_ms"] > 0 and row["compile_ms"] is None
    assert calls["vt"] >= 1 + 3 + 1 + 5 and calls["torch"] == calls["vt"]
    assert row["max_rel"] == pytest.approx(1e-3 / (2.0 + 1e-3), rel=1e-3)
    assert row["pct_floor"] is not None and row["speedup_eager"] is not None

    failing = Case("fake", "fwd", "(1,)", "float32", dict, lambda d: 1 / 0, lambda d: torch.ones(1), bytes=4)
    row = run.run_case(failing, run.SETTINGS["quick"], flush, 2**20, 1e12, compile_torch=False)
    assert row["vt_ms"] is None and "ZeroDivisionError" in row["errors"]["vt"]
    assert "check" in row["errors"] and row["torch_ms"] > 0
