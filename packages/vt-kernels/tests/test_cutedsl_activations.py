"""The CuTeDSL backend of gelu, swiglu and geglu.

Without a GPU (CI) every kernel is compiled for sm_90a, the tiling and the launch arguments are
checked (against the DSL's own marshalling, and what the launchers pass for packed, flat and
strided rows); with a GPU values and gradients are compared with torch composites.
"""

import os

import pytest
import torch
from activation_reference import gelu_composite, silu_composite
from conftest import ON_GPU
from cutedsl_marshalling import assert_launch_arguments_match
from tolerances import DTYPES, assert_close

if not ON_GPU:
    os.environ.setdefault("CUTE_DSL_ARCH", "sm_90a")  # before cutlass is imported
pytest.importorskip("cutlass", reason="nvidia-cutlass-dsl is not installed")

import vt.kernels as vk
from vt.kernels import _registry
from vt.kernels.activations import geglu, gelu, swiglu
from vt.kernels.cutedsl import _common as C
from vt.kernels.cutedsl import activations as A

ARCH = None if ON_GPU else "sm_90a"


# ---------------------------------------------------------------------------------------------
# everywhere: compilation, tiling, launch arguments, registration


@pytest.mark.parametrize("dtype, n", [("bfloat16", 1 << 20), ("float16", 11008),
                                      ("float32", 1 << 20), ("float16", 37)])
def test_every_kernel_compiles_for_sm90(dtype, n):
    # long rows (column tiles of 256 threads) in every dtype; short odd rows (many per CTA)
    assert A.compile_all(dtype, n, ARCH) == 10


@pytest.mark.parametrize("n", [1, 7, 37, 256, 1000, 2048, 4096, 11008, 65536, 1 << 20, 1000003])
@pytest.mark.parametrize("vec, size", [(8, 2), (4, 4), (2, 2), (1, 4), (1, 2)])
def test_tiling_covers_rows_with_64_bytes_a_thread(n, vec, size):
    t = A.tiling_for(n, vec, size)
    assert t.vec == vec and t.vec * t.vecs_per_thread * size <= 64
    assert t.threads_per_row & (t.threads_per_row - 1) == 0
    assert 128 <= t.cta_threads <= 256
    tiles = -(-n // t.cols)
    if tiles == 1:
        assert t.cols - n < t.vec * t.threads_per_row  # no wholly idle vector column
    else:
        assert t.rows_per_cta == 1
        # a partial last tile leaves at most 1/16 idle, unless the tile is already the smallest
        assert tiles * t.cols - n <= n // 16 or (t.vecs_per_thread, t.cta_threads) == (1, 128)


@pytest.mark.parametrize("m, n, vec", [(1, 1 << 20, 8), (5, 3000, 4), (1000, 37, 1),
                                       (3, 11008, 8), (2, 2 * 11008 + 8, 8)])
def test_grid_tiles_cover_every_element_once(m, n, vec):
    """The kernel's walk (block -> (row tile, column tile); thread -> row of the tile and
    vectors lane + j * threads_per_row, as _common.tv_layout) touches each element once."""
    t = A.tiling_for(n, vec, 2)
    col_tiles = -(-n // t.cols)
    bidx = torch.arange(A.tiles(m, n, t))[:, None, None]
    tidx = torch.arange(t.cta_threads)[None, :, None]
    j = torch.arange(t.vecs_per_thread)[None, None, :]
    row = bidx // col_tiles * t.rows_per_cta + tidx // t.threads_per_row
    col = bidx % col_tiles * t.cols + (tidx % t.threads_per_row + j * t.threads_per_row) * vec
    row, col = torch.broadcast_tensors(row, col)
    inside = (row < m) & (col < n)  # vec divides n: a vector is wholly in or out
    first = (row * n + col)[inside]
    elements = (first[:, None] + torch.arange(vec)).flatten()
    assert bool((torch.bincount(elements, minlength=m * n) == 1).all())


def test_vector_width_follows_length_strides_and_addresses():
    assert A.vector_width(64, [(1024, 2, 0), (2048, 2, 64)]) == 8
    assert A.vector_width(64, [(1024, 2, 0), (2048, 4, 0)]) == 4  # the widest dtype
    assert A.vector_width(60, [(1024, 2, 0)]) == 4  # n
    assert A.vector_width(64, [(1024, 2, 0), (1024 + 2 * 37, 2, 128)]) == 1  # packed up at 37
    assert A.vector_width(64, [(1024, 2, 66)]) == 2  # row stride
    assert A.vector_width(64, [(1026, 2, 0)]) == 1  # base address


@pytest.mark.parametrize("shape", [A.UNARY_FWD, A.GATED_BWD])
def test_fast_launch_arguments_match_the_dsl_marshalling(shape):
    kernel = A._compiled(A.tiling_for(4096, 8, 2), shape, A.GELU_TANH,
                         A._keys(shape, "bfloat16"), ARCH)
    assert_launch_arguments_match(kernel)


class _Recorder:
    """Stands in for a compiled kernel: records the launch (compile key, values)."""

    def __init__(self, monkeypatch):
        self.launches = []
        monkeypatch.setattr(A, "_compiled", self.compiled)
        monkeypatch.setattr(C, "device_index", lambda t: 0)
        monkeypatch.setattr(C, "stream_handle", lambda t: 0)

    def compiled(self, tiling, shape, act, keys, arch=None):
        def launch(device, *values):
            self.launches.append(((tiling, shape, act, keys), values))
        return launch


def test_launchers_pass_packed_flat_and_strided_rows(monkeypatch):
    rec = _Recorder(monkeypatch)
    # packed [gate | up]: up is x's second half, same row stride; out is (m, n)
    x = torch.empty(6, 2 * 1024, dtype=torch.bfloat16)
    out = A._swiglu_forward(x, None)
    (tiling, shape, act, keys), values = rec.launches[-1]
    assert (shape, act) == (A.GATED_FWD, A.SILU)
    assert keys == ("bfloat16", "bfloat16", None, "bfloat16", None)
    pa, pb, pc, po1, po2, m, n, lda, ldb, ldc, ldo1, ldo2, _ = values
    assert (pa, pb, pc, po2) == (x.data_ptr(), x.data_ptr() + 2 * 1024, None, None)
    assert (po1, m, n, lda, ldb, ldo1) == (out.data_ptr(), 6, 1024, 2048, 2048, 1024)
    assert tiling.vec == 8
    # packed backward: both gradients land in dx (rows of 2n)
    dx, none = A._geglu_backward(out, x, None, "tanh")
    (tiling, shape, act, keys), values = rec.launches[-1]
    assert none is None and dx.shape == x.shape and (shape, act) == (A.GATED_BWD, A.GELU_TANH)
    pa, pb, pc, po1, po2, m, n, lda, ldb, ldc, ldo1, ldo2, _ = values
    assert (pb, pc, po1, po2) == (x.data_ptr(), x.data_ptr() + 2048, dx.data_ptr(),
                                  dx.data_ptr() + 2048)
    assert (m, n, lda, ldb, ldc, ldo1, ldo2) == (6, 1024, 1024, 2048, 2048, 2048, 2048)
    # dense rows (separate gate and up): one flat row
    g, u = torch.empty(5, 37), torch.empty(5, 37)
    A._geglu_forward(g, u, "none")
    _, values = rec.launches[-1]
    assert values[5:11] == (1, 185, 0, 0, 0, 0)
    # row slices keep their rows and strides; a misaligned slice takes scalar accesses
    wide = torch.empty(6, 50)
    dy = A._gelu_backward(torch.empty(6, 17), wide[:, 3:20], "none")
    (tiling, shape, _, keys), values = rec.launches[-1]
    assert shape == A.UNARY_BWD and keys == ("float32", "float32", None, "float32", None)
    assert values[5:11] == (6, 17, 17, 50, 0, 17) and tiling.vec == 1
    assert values[1] == wide.data_ptr() + 3 * 4 and values[3] == dy.data_ptr()
    # empty rows launch nothing
    count = len(rec.launches)
    assert A._gelu_forward(torch.empty(0, 8), "none").shape == (0, 8)
    assert A._swiglu_backward(torch.empty(3, 0), torch.empty(3, 0), None)[0].shape == (3, 0)
    assert len(rec.launches) == count


def test_backend_is_registered_and_declines_what_it_cannot_run():
    for kernel in A.KERNELS:
        assert "cutedsl" in vk.implementations(kernel)
    x = torch.randn(4, 64)
    assert "CUDA" in A._unary_supports(x, "none")
    assert "CUDA" in A._gated_supports(x, None)
    assert "CUDA" in A._gated_supports(x, x, "tanh")
    reasons = dict(_registry.explain("gelu", x, "none"))
    assert "CUDA" in reasons["cutedsl"]


# ---------------------------------------------------------------------------------------------
# on a GPU: values and gradients against torch composites (float32 math on the same inputs)


def activation(kernel, approximate):
    return silu_composite if kernel == "swiglu" else lambda g: gelu_composite(g, approximate)


def _random(shape, dtype, seed, scale=3.0):
    g = torch.Generator(device="cuda").manual_seed(seed)
    return (torch.randn(shape, device="cuda", generator=g) * scale).to(dtype)


def leaves(*tensors):
    return [t.detach().float().requires_grad_(True) for t in tensors]


def _impl(kernel, *args):
    with vk.use_impl("cutedsl"):
        impl = _registry.select(kernel, *args)
    assert impl.backend == "cutedsl"
    return impl


# (1, 1): one element; (3, 37): odd rows (flat); (7, 11008): column tiles with a partial tile
ROWS = [(1, 1), (3, 37), (17, 256), (7, 11008), (2, 1 << 17)]


@pytest.mark.cuda
@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", ROWS)
def test_gelu_matches_torch(shape, dtype, approximate):
    x, dy = _random(shape, dtype, 0), _random(shape, dtype, 1, 1.0)
    impl = _impl("gelu", x, approximate)
    y = impl.forward(x, approximate)
    dx = impl.backward(dy, x, approximate)
    x2, = leaves(x)
    y2 = gelu_composite(x2, approximate)
    y2.backward(dy.float())
    assert y.dtype == dtype and y.shape == x.shape and y.is_contiguous()
    assert_close(y, y2, dtype)
    assert_close(dx, x2.grad, dtype)


@pytest.mark.cuda
@pytest.mark.parametrize("packed", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel, approximate", [("swiglu", None), ("geglu", "none"),
                                                 ("geglu", "tanh")])
@pytest.mark.parametrize("shape", ROWS)
def test_gated_matches_torch(shape, kernel, approximate, dtype, packed):
    m, n = shape
    args = () if kernel == "swiglu" else (approximate,)
    if packed:
        x, up = _random((m, 2 * n), dtype, 0), None
        g, u = x[:, :n], x[:, n:]
    else:
        x, up = _random(shape, dtype, 0), _random(shape, dtype, 2)
        g, u = x, up
    dout = _random(shape, dtype, 1, 1.0)
    impl = _impl(kernel, x, up, *args)
    out = impl.forward(x, up, *args)
    dx, dup = impl.backward(dout, x, up, *args)
    g2, u2 = leaves(g, u)
    out2 = activation(kernel, approximate)(g2) * u2
    out2.backward(dout.float())
    assert out.dtype == dtype and out.shape == shape and out.is_contiguous()
    assert_close(out, out2, dtype)
    if packed:
        assert dup is None and dx.shape == x.shape
        assert_close(dx, torch.cat((g2.grad, u2.grad), 1), dtype)
    else:
        assert_close(dx, g2.grad, dtype)
        assert_close(dup, u2.grad, dtype)


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", DTYPES)
def test_strided_and_misaligned_rows(dtype):
    base = _random((40, 1030), dtype, 0)
    other = _random((80, 1030), dtype, 3)
    # row stride 1030 (narrower vectors); base off by 2 or 3 elements; up with another stride
    for g, u in ((base[:, :1024], other[::2, :1024]), (base[:, 2:1026], other[1::2, 4:1028]),
                 (base[:, 3:1030], other[:40, :1027])):
        dout = _random(g.shape, dtype, 1, 1.0)
        impl = _impl("geglu", g, u, "tanh")
        out = impl.forward(g, u, "tanh")
        dg, du = impl.backward(dout, g, u, "tanh")
        g2, u2 = leaves(g, u)
        out2 = gelu_composite(g2, "tanh") * u2
        out2.backward(dout.float())
        assert_close(out, out2, dtype)
        assert_close(dg, g2.grad, dtype)
        assert_close(du, u2.grad, dtype)
        y = _impl("gelu", g, "none").forward(g, "none")
        assert_close(y, gelu_composite(g.float(), "none"), dtype)
    # packed rows with a row stride of 3 * 2n (a slice of a wider buffer)
    wide = _random((9, 3, 2 * 200), dtype, 4)[:, 1]
    dout = _random((9, 200), dtype, 5, 1.0)
    impl = _impl("swiglu", wide, None)
    out = impl.forward(wide, None)
    dx, _ = impl.backward(dout, wide, None)
    w2, = leaves(wide)
    out2 = silu_composite(w2[:, :200]) * w2[:, 200:]
    out2.backward(dout.float())
    assert_close(out, out2, dtype)
    assert_close(dx, w2.grad, dtype)


@pytest.mark.cuda
def test_extreme_inputs_stay_finite():
    x = torch.tensor([[-1e4, -100.0, -20.0, 0.0, 20.0, 100.0, 1e4, 3e38]], device="cuda")
    for approximate in ("none", "tanh"):
        y = _impl("gelu", x, approximate).forward(x, approximate)
        assert_close(y, torch.nn.functional.gelu(x, approximate=approximate))
        dx = _impl("gelu", x, approximate).backward(torch.ones_like(x), x, approximate)
        assert bool(torch.isfinite(dx[:, :7]).all())
    out = _impl("swiglu", x, x).forward(x[:, :7], x[:, :7])
    assert_close(out, torch.nn.functional.silu(x[:, :7]) * x[:, :7])


@pytest.mark.cuda
def test_public_api_runs_on_cutedsl_and_falls_back_when_unsupported():
    x = _random((4, 3, 2 * 352), torch.float32, 0).requires_grad_(True)
    with vk.use_impl("cutedsl"):
        assert vk.explain("swiglu", x.view(12, -1), None)[0] == ("cutedsl", None)
        out = swiglu(x)
        y = gelu(out, "tanh")
        z = geglu(y, out)
        z.square().sum().backward()
        # a strided last dim is not taken: the registry falls back to Triton
        t = _random((64, 32), torch.float32, 1).t()
        reasons = dict(vk.explain("gelu", t, "none"))
        assert "unit stride" in reasons["cutedsl"] and reasons["triton"] is None
        assert _registry.select("gelu", t, "none").backend == "triton"
        assert_close(gelu(t), gelu_composite(t, "none"))
    x2, = leaves(x)
    out2 = silu_composite(x2[..., :352]) * x2[..., 352:]
    y2 = gelu_composite(out2, "tanh")
    z2 = gelu_composite(y2, "none") * out2
    z2.square().sum().backward()
    assert_close(z, z2, atol=1e-4, rtol=1e-4)
    assert_close(x.grad, x2.grad, atol=1e-4, rtol=1e-4)


@pytest.mark.cuda
def test_backends_agree_on_mlp_shapes():
    x = _random((512, 2 * 11008), torch.bfloat16, 0)
    dout = _random((512, 11008), torch.bfloat16, 1, 1.0)
    results = {}
    for backend in ("triton", "cutedsl"):
        with vk.use_impl(backend):
            impl = _registry.select("swiglu", x, None)
        assert impl.backend == backend
        results[backend] = (impl.forward(x, None), impl.backward(dout, x, None)[0])
    for a, b in zip(results["triton"], results["cutedsl"]):
        assert_close(a, b, torch.bfloat16)
