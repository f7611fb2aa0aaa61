"""vt's tensor printing must produce exactly what ``repr`` of the same torch tensor produces."""

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

# Loaded by file path so the test runs before the vt package itself is importable.
_PATH = Path(__file__).resolve().parents[2] / "src" / "vt" / "core" / "_printing.py"
_spec = importlib.util.spec_from_file_location("vt_core_printing", _PATH)
printing = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = printing  # dataclasses look their module up here
_spec.loader.exec_module(printing)


def dtype_name(t) -> str:
    return str(t.dtype).removeprefix("torch.")


def vt_repr(t, **kwargs) -> str:
    """Format a torch tensor through vt; numpy has no bfloat16, so 16-bit floats go via float32."""
    values = t.float().numpy() if t.dtype in (torch.bfloat16, torch.float16) else t.numpy()
    return printing.format_tensor(values, dtype_name(t), dtype_prefix="torch.", **kwargs)


@pytest.fixture
def both_options():
    """Apply the same print options to torch and vt, restoring the defaults afterwards."""

    def apply(**options):
        torch.set_printoptions(**options)
        printing.set_printoptions(**options)

    yield apply
    torch.set_printoptions(profile="default")
    printing.set_printoptions(profile="default")


def _seeded(fn):
    """Random tensors must be identical for every run so failures reproduce."""
    return lambda: fn(torch.Generator().manual_seed(0))


CASES = {
    # dtypes
    "bool": lambda: torch.tensor([True, False, True]),
    "bool_2d": lambda: torch.tensor([[True], [False]]),
    "uint8": lambda: torch.tensor([0, 7, 255], dtype=torch.uint8),
    "int8": lambda: torch.tensor([-128, 0, 127], dtype=torch.int8),
    "int16": lambda: torch.tensor([-300, 2, 32767], dtype=torch.int16),
    "int32": lambda: torch.tensor([[1, 2], [3, 4]], dtype=torch.int32),
    "int64": lambda: torch.tensor([1, -20, 300]),
    "int64_extremes": lambda: torch.tensor([-(2**63), 0, 2**63 - 1]),
    "float16": lambda: torch.tensor([1.5, -2.25, 0.1], dtype=torch.float16),
    "float16_int": lambda: torch.tensor([1.0, 2048.0], dtype=torch.float16),
    "float16_sci": lambda: torch.tensor([1e-3, 6e4], dtype=torch.float16),
    "bfloat16": lambda: torch.tensor([1.1, -3.3, 100.7], dtype=torch.bfloat16),
    "bfloat16_sci": lambda: torch.tensor([1e-8, 3e30], dtype=torch.bfloat16),
    "float32": lambda: torch.tensor([1.0, 2.5, -3.25]),
    "float64": lambda: torch.tensor([1.0, 2.5, 1 / 3], dtype=torch.float64),
    "float64_int": lambda: torch.tensor([[1.0, 2.0]], dtype=torch.float64),
    # dimensions
    "scalar_float": lambda: torch.tensor(3.5),
    "scalar_int_valued": lambda: torch.tensor(-3.0),
    "scalar_int": lambda: torch.tensor(7, dtype=torch.int32),
    "scalar_bool": lambda: torch.tensor(False),
    "scalar_nan": lambda: torch.tensor(math.nan),
    "scalar_tiny": lambda: torch.tensor(1e-7),
    "vec_single": lambda: torch.tensor([0.5]),
    "mat": lambda: torch.tensor([[1.5, -2.0], [30.25, 4.0]]),
    "cube": lambda: torch.arange(24.0).reshape(2, 3, 4),
    "cube_int32": lambda: torch.arange(24, dtype=torch.int32).reshape(2, 3, 4),
    "4d": lambda: torch.arange(36.0).reshape(2, 3, 2, 3) / 7,
    "5d_ones": lambda: torch.ones(2, 1, 2, 1, 2),
    # empty shapes
    "empty_1d": lambda: torch.empty(0),
    "empty_1d_int64": lambda: torch.empty(0, dtype=torch.int64),
    "empty_2d": lambda: torch.empty(0, 3),
    "empty_3d_bool": lambda: torch.empty(2, 0, 3, dtype=torch.bool),
    "empty_3d_float64": lambda: torch.empty(2, 0, 3, dtype=torch.float64),
    # float styles
    "int_valued": lambda: torch.tensor([1.0, -2.0, 100.0, 0.0]),
    "zeros": lambda: torch.zeros(2, 2),
    "negative_zero": lambda: torch.tensor([-0.0, 1.5]),
    "mixed_magnitudes": lambda: torch.tensor([1e-5, 1e5]),
    "ratio_just_over_1000": lambda: torch.tensor([1.0, 1000.5]),
    "ratio_1000": lambda: torch.tensor([1.0, 1000.0]),
    "negatives": lambda: torch.tensor([[-1.25, 2.5], [-0.001, 4.0]]),
    "large": lambda: torch.tensor([1.5e8, 2.0]),
    "large_int_valued": lambda: torch.tensor([2e9, 3e9]),
    "tiny": lambda: torch.tensor([1e-9, 3e-9]),
    "float64_extremes": lambda: torch.tensor([1e-300, 1e300], dtype=torch.float64),
    "nan_inf_mix": lambda: torch.tensor([math.nan, math.inf, -math.inf, 1.5]),
    "nan_inf_ints": lambda: torch.tensor([math.nan, -math.inf, 2.0]),
    "nan_inf_sci": lambda: torch.tensor([math.nan, 1e-6, 1e6]),
    "all_nan": lambda: torch.full((2, 2), math.nan),
    "only_inf_and_zero": lambda: torch.tensor([0.0, -math.inf]),
    # summarization
    "summarized_1d": lambda: torch.arange(2000.0),
    "summarized_1d_int": lambda: torch.arange(5000, dtype=torch.int16),
    "summarized_2d": _seeded(lambda g: torch.randn(100, 100, generator=g)),
    "summarized_2d_rows_only": lambda: torch.arange(2002.0).reshape(1001, 2),
    "summarized_2d_cols_only": lambda: torch.arange(2002).reshape(2, 1001),
    "summarized_3d": lambda: torch.arange(8000.0).reshape(20, 20, 20) / 3,
    "summarized_bool": lambda: torch.arange(1200).reshape(30, 40) % 3 == 0,
    "summarized_hides_wide": lambda: torch.ones(1004).index_fill(0, torch.tensor([1000]), 1e9),
    # wrapping
    "wrap_1d_float": lambda: torch.arange(40.0) / 3,
    "wrap_1d_int": lambda: torch.arange(100),
    "wrap_2d_rows": lambda: torch.arange(60.0).reshape(2, 30) * 1.5,
    "wrap_3d_rows": lambda: torch.arange(80.0).reshape(2, 2, 20) * 1e3,
    "wrap_row_then_dtype": lambda: torch.arange(23, dtype=torch.int16),
    "wrap_dtype_suffix_1d": lambda: torch.arange(18, dtype=torch.int16),
    "wrap_dtype_suffix_2d": lambda: torch.arange(22, dtype=torch.int16).reshape(2, 11) * 100,
}


@pytest.mark.parametrize("make", CASES.values(), ids=CASES.keys())
def test_matches_torch_repr(make):
    t = make()
    assert vt_repr(t) == repr(t)


OPTION_CASES = {
    "precision_2": dict(precision=2),
    "precision_0": dict(precision=0),
    "precision_8": dict(precision=8),
    "sci_on": dict(sci_mode=True),
    "sci_off": dict(sci_mode=False),
    "threshold_5": dict(threshold=5),
    "threshold_5_edge_1": dict(threshold=5, edgeitems=1),
    "edgeitems_0": dict(edgeitems=0),
    "edgeitems_0_summarized": dict(threshold=5, edgeitems=0),
    "linewidth_40": dict(linewidth=40),
    "linewidth_10": dict(linewidth=10),
    "profile_short": dict(profile="short"),
    "profile_full": dict(profile="full"),
}

OPTION_TENSORS = {
    "float_vec": lambda: torch.arange(12.0) / 7,
    "int_valued": lambda: torch.arange(12.0).reshape(3, 4),
    "mixed": lambda: torch.tensor([1e-5, 1.0, 1e5]),
    "int32_mat": lambda: torch.arange(30, dtype=torch.int32).reshape(5, 6),
    "cube": lambda: torch.arange(60.0).reshape(3, 4, 5) - 30,
    "nan_inf": lambda: torch.tensor([math.nan, math.inf, 0.0]),
    "scalar": lambda: torch.tensor(2.0 / 3),
    "bfloat16": lambda: torch.tensor([0.1, 2.0, 30.0], dtype=torch.bfloat16),
    "long_row": lambda: torch.arange(1500.0) / 9,
}


@pytest.mark.parametrize("options", OPTION_CASES.values(), ids=OPTION_CASES.keys())
@pytest.mark.parametrize("make", OPTION_TENSORS.values(), ids=OPTION_TENSORS.keys())
def test_matches_torch_with_print_options(both_options, options, make):
    both_options(**options)
    t = make()
    assert vt_repr(t) == repr(t)


@pytest.mark.parametrize("options", OPTION_CASES.values(), ids=OPTION_CASES.keys())
def test_printoptions_mirror_torch(both_options, options):
    both_options(**options)
    assert printing.get_printoptions() == torch._tensor_str.get_printoptions()


def test_set_printoptions_rejects_unknown_profile():
    with pytest.raises(ValueError):
        printing.set_printoptions(profile="tiny")


def test_requires_grad_suffix_follows_contents():
    t = torch.tensor([1.0, 2.0], requires_grad=True)
    assert vt_repr(t.detach(), suffixes=["requires_grad=True"]) == repr(t)


def test_suffix_wraps_onto_new_line():
    t = torch.arange(30.0, requires_grad=True) / 1  # carries grad_fn=<DivBackward0>
    assert vt_repr(t.detach(), suffixes=["grad_fn=<DivBackward0>"]) == repr(t)


DEVICE_CASES = {
    "float32": (np.array([1.0, 2.0], np.float32), "float32", "tensor([1., 2.], device='cuda:0')"),
    "int32": (
        np.array([1, 2], np.int32),
        "int32",
        "tensor([1, 2], device='cuda:0', dtype=torch.int32)",
    ),
    "empty": (
        np.zeros((0, 2), np.float32),
        "float32",
        "tensor([], device='cuda:0', size=(0, 2))",
    ),
}


@pytest.mark.parametrize("values, name, expected", DEVICE_CASES.values(), ids=DEVICE_CASES.keys())
def test_device_suffix_precedes_dtype(values, name, expected):
    out = printing.format_tensor(values, name, device="cuda:0", dtype_prefix="torch.")
    assert out == expected


def test_device_dtype_and_extra_suffixes_in_order():
    out = printing.format_tensor(
        np.array([1.5], np.float64), "float64", device="cuda:1", suffixes=["requires_grad=True"]
    )
    assert out == "tensor([1.5000], device='cuda:1', dtype=vt.float64, requires_grad=True)"


def test_vt_defaults_prefix_and_default_float():
    values = np.array([1.0, 2.0], np.float64)
    assert printing.format_tensor(values, "float64", default_float="float64") == "tensor([1., 2.])"
    assert printing.format_tensor(values, "float32") == "tensor([1., 2.])"
    assert printing.format_tensor(values, "bfloat16") == "tensor([1., 2.], dtype=vt.bfloat16)"


def test_custom_prefix_sets_indent():
    out = printing.format_tensor(np.eye(2, dtype=np.float32), "float32", prefix="Parameter(")
    assert out == "Parameter([[1., 0.],\n           [0., 1.]])"


def test_float16_array_input_matches_float32_input():
    t = torch.tensor([[0.1, -65504.0], [6e-5, 3.0]], dtype=torch.float16)
    assert printing.format_tensor(t.numpy(), "float16", dtype_prefix="torch.") == repr(t)
