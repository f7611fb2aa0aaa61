import pytest
import torch
from rotary_reference import composite, tables
from tolerances import DTYPES, assert_close

import vt.kernels as vk
from vt.kernels.rotary import apply_rotary, rotary_backward, rotary_forward, rotary_table_backward


def make(layout, batch, heads, seq, head_dim, device, dtype):
    shape = (batch, heads, seq, head_dim) if layout == "bhsd" else (batch, seq, heads, head_dim)
    return torch.randn(shape, device=device, dtype=dtype)


def leaves(*tensors):
    return [t.detach().clone().requires_grad_(True) if t is not None else None for t in tensors]


def check_against_composite(q, k, cos, sin, offset, interleaved, layout, dtype,
                            learn_tables=False):
    """Outputs and gradients against the float32 composite; with learn_tables, cos and sin
    require grad too and their gradients are compared (in their own dtypes)."""
    dq_out = torch.randn_like(q)
    dk_out = torch.randn_like(k) if k is not None else None
    q1, k1 = leaves(q, k)
    cos1, sin1 = leaves(cos, sin) if learn_tables else (cos, sin)
    q_out, k_out = apply_rotary(q1, k1, cos1, sin1, offset, interleaved, layout)
    torch.autograd.backward([t for t in (q_out, k_out) if t is not None],
                            [t for t in (dq_out, dk_out) if t is not None])
    q2, k2 = leaves(q.float(), k.float() if k is not None else None)
    cos2, sin2 = leaves(cos.float(), sin.float()) if learn_tables else (cos, sin)
    q_ref = composite(q2, cos2, sin2, offset, interleaved, layout)
    q_ref.backward(dq_out.float())
    assert q_out.dtype == dtype and q_out.shape == q.shape and q_out.is_contiguous()
    assert_close(q_out, q_ref, dtype)
    assert_close(q1.grad, q2.grad, dtype)
    if k is None:
        assert k_out is None
    else:
        k_ref = composite(k2, cos2, sin2, offset, interleaved, layout)
        k_ref.backward(dk_out.float())
        assert k_out.dtype == dtype and k_out.shape == k.shape and k_out.is_contiguous()
        assert_close(k_out, k_ref, dtype)
        assert_close(k1.grad, k2.grad, dtype)
    if learn_tables:
        for got, table, want in ((cos1.grad, cos, cos2.grad), (sin1.grad, sin, sin2.grad)):
            assert got.dtype == table.dtype and got.shape == table.shape
            # Both sides multiply the same rounded inputs; the sums differ in order and in the
            # final rounding to the table's dtype.
            assert_close(got, want, table.dtype, reduced=True)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["bhsd", "bshd"])
@pytest.mark.parametrize("interleaved", [False, True])
# (20, 12) passes 8 channels through unrotated
@pytest.mark.parametrize("head_dim, rotary_dim", [(16, 16), (20, 12)])
def test_q_and_gqa_k_match_the_composite(device, dtype, layout, interleaved, head_dim, rotary_dim):
    torch.manual_seed(0)
    q = make(layout, 2, 4, 5, head_dim, device, dtype)
    k = make(layout, 2, 2, 5, head_dim, device, dtype)
    cos, sin = tables(12, rotary_dim // 2, device)
    check_against_composite(q, k, cos, sin, 3, interleaved, layout, dtype)


@pytest.mark.parametrize("layout", ["bhsd", "bshd"])
@pytest.mark.parametrize("offset_dtype", [torch.int32, torch.int64])
def test_per_sequence_offsets(device, layout, offset_dtype):
    torch.manual_seed(1)
    q = make(layout, 3, 2, 4, 8, device, torch.float32)
    k = make(layout, 3, 1, 4, 8, device, torch.float32)
    cos, sin = tables(20, 4, device)
    offsets = torch.tensor([0, 7, 16], device=device, dtype=offset_dtype)
    check_against_composite(q, k, cos, sin, offsets, False, layout, torch.float32)
    check_against_composite(q, k, cos, sin, offsets, True, layout, torch.float32)


def test_long_sequence_odd_heads_and_no_k(device):
    torch.manual_seed(2)
    q = make("bhsd", 1, 3, 300, 32, device, torch.float32)  # several position blocks, masked heads
    cos, sin = tables(300, 16, device)
    check_against_composite(q, None, cos, sin, 0, False, "bhsd", torch.float32)


def test_strided_inputs_are_read_in_place(device):
    torch.manual_seed(3)
    qkv = torch.randn(2, 6, 3, 4, 16, device=device)  # (batch, seq, q|k|v, heads, head_dim)
    q, k = qkv[:, :, 0], qkv[:, :, 1]
    cos, sin = tables(6, 8, device)
    check_against_composite(q, k, cos, sin, 0, False, "bshd", torch.float32)
    # the same data seen as (batch, heads, seq, head_dim) without a copy
    check_against_composite(q.transpose(1, 2), k.transpose(1, 2), cos, sin, 0, True, "bhsd",
                            torch.float32)
    # strided tables (a slice of a wider cache)
    wide_cos, wide_sin = tables(6, 16, device)
    check_against_composite(q, k, wide_cos[:, :8], wide_sin[:, :8], 0, False, "bshd", torch.float32)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_tables_in_the_input_dtype(device, dtype):
    torch.manual_seed(4)
    q = make("bhsd", 1, 2, 7, 16, device, dtype)
    k = make("bhsd", 1, 2, 7, 16, device, dtype)
    cos, sin = tables(7, 8, device, dtype)
    check_against_composite(q, k, cos, sin, 0, False, "bhsd", dtype)


def test_only_q_output_used_leaves_k_without_gradient(device):
    q, k = leaves(torch.randn(1, 2, 3, 8, device=device), torch.randn(1, 2, 3, 8, device=device))
    cos, sin = tables(3, 4, device)
    q_out, _ = apply_rotary(q, k, cos, sin)
    q_out.sum().backward()
    assert q.grad is not None and k.grad is None


def test_explicit_forward_and_backward_invert_each_other(device):
    torch.manual_seed(5)
    q = make("bshd", 2, 3, 5, 12, device, torch.float32)
    k = make("bshd", 2, 1, 5, 12, device, torch.float32)
    cos, sin = tables(9, 4, device)
    offsets = torch.tensor([1, 4], device=device)
    q_out, k_out = rotary_forward(q, k, cos, sin, offsets, layout="bshd")
    q_back, k_back = rotary_backward(q_out, k_out, cos, sin, offsets, layout="bshd")
    assert_close(q_back, q)
    assert_close(k_back, k)
    q_only, none = rotary_forward(q, None, cos, sin, offsets, layout="bshd")
    assert none is None
    assert_close(q_only, q_out)


def test_triton_and_reference_backends_agree(device):
    torch.manual_seed(6)
    q = make("bhsd", 2, 4, 6, 10, device, torch.float32)
    k = make("bhsd", 2, 2, 6, 10, device, torch.float32)
    cos, sin = tables(8, 4, device)
    with vk.use_impl("reference"):
        ref = apply_rotary(q, k, cos, sin, 2, interleaved=True)
    assert vk.explain("rotary", q, k, cos, sin, 2, True, "bhsd")[0] == ("triton", None)
    out = apply_rotary(q, k, cos, sin, 2, interleaved=True)
    assert_close(out[0], ref[0])
    assert_close(out[1], ref[1])


def offsets_of(kind, batch, device):
    """A scalar offset, or per-sequence offsets where sequences 0 and 1 share table rows."""
    if kind == "scalar":
        return 3
    return torch.tensor([2, 4, 0][:batch], device=device)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["bhsd", "bshd"])
@pytest.mark.parametrize("interleaved", [False, True])
@pytest.mark.parametrize("offset_kind", ["scalar", "tensor"])
def test_learned_tables_with_gqa_k_match_the_composite(device, dtype, layout, interleaved,
                                                        offset_kind):
    torch.manual_seed(10)
    q = make(layout, 3, 4, 5, 20, device, dtype)  # 8 channels pass through (rotary_dim 12)
    k = make(layout, 3, 2, 5, 20, device, dtype)
    cos, sin = tables(12, 6, device, dtype)
    check_against_composite(q, k, cos, sin, offsets_of(offset_kind, 3, device), interleaved,
                            layout, dtype, learn_tables=True)


@pytest.mark.parametrize("table_dtype", DTYPES)
@pytest.mark.parametrize("interleaved", [False, True])
@pytest.mark.parametrize("offset_kind", ["scalar", "tensor"])
def test_learned_tables_q_only_in_any_table_dtype(device, table_dtype, interleaved, offset_kind):
    torch.manual_seed(11)
    q = make("bshd", 2, 3, 6, 16, device, torch.float16)
    cos, sin = tables(10, 8, device, table_dtype)
    check_against_composite(q, None, cos, sin, offsets_of(offset_kind, 2, device), interleaved,
                            "bshd", torch.float16, learn_tables=True)


def test_learned_tables_over_several_blocks_and_strided_inputs(device):
    torch.manual_seed(12)
    q = make("bhsd", 2, 3, 70, 32, device, torch.float32)  # several row blocks, masked heads
    k = make("bhsd", 2, 1, 70, 32, device, torch.float32)
    cos, sin = tables(90, 16, device)
    check_against_composite(q, k, cos, sin, torch.tensor([20, 5], device=device), False, "bhsd",
                            torch.float32, learn_tables=True)
    qkv = torch.randn(2, 6, 3, 4, 16, device=device)  # (batch, seq, q|k|v, heads, head_dim)
    wide_cos, wide_sin = tables(7, 16, device)
    check_against_composite(qkv[:, :, 0], qkv[:, :, 1], wide_cos[:, :8], wide_sin[:, :8], 1, True,
                            "bshd", torch.float32, learn_tables=True)


def test_shared_table_rows_accumulate_and_unread_rows_get_zero(device):
    q = torch.ones(3, 1, 2, 2, device=device)  # (x1, x2) = (1, 1) at every position
    cos, sin = leaves(torch.ones(8, 1, device=device), torch.zeros(8, 1, device=device))
    offsets = torch.tensor([1, 1, 4], device=device)  # rows 1-2 read twice, 4-5 once
    q_out, _ = apply_rotary(q, None, cos, sin, offsets)
    q_out.sum().backward()  # dy = 1: dcos = x1 + x2 = 2, dsin = x1 - x2 = 0 per read
    want = torch.tensor([0, 4, 4, 0, 2, 2, 0, 0], device=device, dtype=torch.float32)[:, None]
    torch.testing.assert_close(cos.grad, want, rtol=0, atol=0)
    torch.testing.assert_close(sin.grad, torch.zeros_like(want), rtol=0, atol=0)


def test_only_the_tables_learn(device):
    torch.manual_seed(13)
    q, k = make("bhsd", 2, 2, 4, 8, device, torch.float32), make("bhsd", 2, 1, 4, 8, device,
                                                                 torch.float32)
    cos, sin = tables(6, 4, device)
    cos1, = leaves(cos)  # sin stays fixed
    q_out, k_out = apply_rotary(q, k, cos1, sin, 1)
    (q_out.square().sum() + k_out.sum()).backward()
    cos2, = leaves(cos)
    (composite(q, cos2, sin, 1, False, "bhsd").square().sum()
     + composite(k, cos2, sin, 1, False, "bhsd").sum()).backward()
    assert_close(cos1.grad, cos2.grad, reduced=True)
    assert q.grad is None and k.grad is None and not sin.requires_grad


@pytest.mark.parametrize("unused", ["q_out", "k_out"])
def test_learned_tables_with_an_unused_output(device, unused):
    torch.manual_seed(14)
    q, k = make("bshd", 2, 2, 4, 8, device, torch.float32), make("bshd", 2, 2, 4, 8, device,
                                                                 torch.float32)
    cos, sin = tables(7, 4, device)
    cos1, sin1, q1, k1 = leaves(cos, sin, q, k)
    q_out, k_out = apply_rotary(q1, k1, cos1, sin1, 2, layout="bshd")
    used, x = (k_out, k) if unused == "q_out" else (q_out, q)
    dy = torch.randn_like(used)
    used.backward(dy)
    cos2, sin2 = leaves(cos, sin)
    composite(x, cos2, sin2, 2, False, "bshd").backward(dy)
    assert_close(cos1.grad, cos2.grad, reduced=True)
    assert_close(sin1.grad, sin2.grad, reduced=True)


def test_learned_tables_train_like_the_composite(device):
    # Tables learned from noise to turn q into a target rotation: the loss curve tracks torch's.
    torch.manual_seed(15)
    q = make("bhsd", 2, 2, 6, 8, device, torch.float32)
    target = composite(q, *tables(6, 4, device), 0, True, "bhsd")
    start = [torch.randn(6, 4, device=device) for _ in range(2)]
    curves = []
    for rotate in (lambda c, s: apply_rotary(q, None, c, s, interleaved=True)[0],
                   lambda c, s: composite(q, c, s, 0, True, "bhsd")):
        cos, sin = leaves(*start)
        opt = torch.optim.SGD([cos, sin], lr=0.02)
        losses = []
        for _ in range(30):
            opt.zero_grad()
            loss = (rotate(cos, sin) - target).square().sum()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        curves.append(torch.tensor(losses))
    assert curves[0][-1] < 0.01 * curves[0][0]
    assert_close(curves[0], curves[1], reduced=True)


def test_gradcheck_in_float64_on_the_composite_and_the_kernel_agrees(device):
    # The kernels take no float64: gradcheck the composite, then hold the kernel's float32
    # table gradients (overlapping per-sequence offsets) to its float64 ones.
    torch.manual_seed(16)
    offsets = torch.tensor([1, 0], device=device)
    for interleaved, layout in ((False, "bhsd"), (True, "bshd")):
        q = make(layout, 2, 2, 3, 6, device, torch.float64)
        cos, sin = (torch.randn(5, 2, device=device, dtype=torch.float64) for _ in range(2))
        q, cos, sin = leaves(q, cos, sin)
        assert torch.autograd.gradcheck(
            lambda x, c, s: composite(x, c, s, offsets, interleaved, layout), (q, cos, sin))
        dy = torch.randn(q.shape, device=device, dtype=torch.float64)
        composite(q, cos, sin, offsets, interleaved, layout).backward(dy)
        q32, cos32, sin32 = leaves(q.float(), cos.float(), sin.float())
        apply_rotary(q32, None, cos32, sin32, offsets, interleaved, layout)[0].backward(dy.float())
        for got, want in ((q32.grad, q.grad), (cos32.grad, cos.grad), (sin32.grad, sin.grad)):
            assert_close(got, want, torch.float32, reduced=True)


def test_table_gradients_run_on_triton_and_reference_and_cutedsl_falls_back(device):
    torch.manual_seed(17)
    q = make("bhsd", 2, 4, 6, 10, device, torch.float32)
    k = make("bhsd", 2, 2, 6, 10, device, torch.float32)
    dq, dk = torch.randn_like(q), torch.randn_like(k)
    cos, sin = tables(8, 4, device)
    args = (q, k, dq, dk, cos, sin, 2, True, "bhsd")
    assert vk.explain("rotary_table_grad", *args)[0] == ("triton", None)
    with vk.use_impl("reference"):
        want = rotary_table_backward(*args)
    assert_close(rotary_table_backward(*args)[0], want[0], reduced=True)
    assert_close(rotary_table_backward(*args)[1], want[1], reduced=True)
    # No CuTeDSL version: choosing cutedsl keeps the x gradients there and runs the tables on
    # triton.
    with vk.use_impl("cutedsl"):
        assert vk.explain("rotary_table_grad", *args)[:2] == [("cutedsl", "not implemented"),
                                                               ("triton", None)]
        got = rotary_table_backward(*args)
    assert_close(got[0], want[0], reduced=True)
    assert_close(got[1], want[1], reduced=True)


def test_explicit_table_backward_matches_autograd_and_checks_its_gradients(device):
    torch.manual_seed(18)
    q = make("bshd", 2, 3, 5, 12, device, torch.float32)
    k = make("bshd", 2, 1, 5, 12, device, torch.float32)
    cos, sin = tables(9, 4, device)
    offsets = torch.tensor([3, 1], device=device)
    cos1, sin1 = leaves(cos, sin)
    q_out, k_out = apply_rotary(q, k, cos1, sin1, offsets, layout="bshd")
    dq, dk = torch.randn_like(q_out), torch.randn_like(k_out)
    torch.autograd.backward([q_out, k_out], [dq, dk])
    dcos, dsin = rotary_table_backward(q, k, dq, dk, cos, sin, offsets, layout="bshd")
    assert_close(dcos, cos1.grad)
    assert_close(dsin, sin1.grad)
    with pytest.raises(ValueError, match="rotary_table_backward: dq and dk are both None"):
        rotary_table_backward(q, k, None, None, cos, sin, offsets, layout="bshd")
    with pytest.raises(RuntimeError, match=r"dk of shape \(2, 5, 3, 12\) does not match its input "
                                           r"of shape \(2, 5, 1, 12\)"):
        rotary_table_backward(q, k, dq, dq, cos, sin, offsets, layout="bshd")
    with pytest.raises(RuntimeError, match="dk of shape .* input of shape None"):
        rotary_table_backward(q, None, dq, dk, cos, sin, offsets, layout="bshd")
    with pytest.raises(TypeError, match="rotary_table_backward: dq must be float32.*int64"):
        rotary_table_backward(q, k, dq.long(), dk, cos, sin, offsets, layout="bshd")


def test_bad_input_raises_torch_exception_types(device):
    q = torch.randn(1, 2, 4, 8, device=device)
    cos, sin = tables(4, 4, device)
    with pytest.raises(ValueError, match="layout"):
        apply_rotary(q, None, cos, sin, layout="sbhd")
    with pytest.raises(TypeError, match="k dtype float16 differs from q dtype float32"):
        apply_rotary(q, q.half(), cos, sin)
    with pytest.raises(RuntimeError, match="does not match q"):
        apply_rotary(q, torch.randn(1, 2, 3, 8, device=device), cos, sin)
    with pytest.raises(RuntimeError, match="rotary_dim"):
        apply_rotary(q, None, *tables(4, 5, device))
    with pytest.raises(RuntimeError, match=r"positions \[1, 5\) are outside"):
        apply_rotary(q, None, cos, sin, 1)
    with pytest.raises(RuntimeError, match=r"position_offset has shape \(2,\), expected \(1,\)"):
        apply_rotary(q, None, cos, sin, torch.zeros(2, dtype=torch.int64, device=device))
    with pytest.raises(TypeError, match="position_offset"):
        apply_rotary(q, None, cos, sin, torch.zeros(1, device=device))
    with pytest.raises(TypeError, match="q must be float32.*int64"):
        apply_rotary(q.long(), None, cos, sin)


def test_a_k_without_heads_rotates_q_alone(device):
    cos, sin = tables(6, 4, device)
    q = make("bhsd", 2, 3, 4, 8, device, torch.float32)
    no_heads = make("bhsd", 2, 0, 4, 8, device, torch.float32)
    for backend in ("triton", "reference"):
        with vk.use_impl(backend):
            q_out, k_out = apply_rotary(q, no_heads, cos, sin)
            assert k_out.shape == no_heads.shape
            assert_close(q_out, apply_rotary(q, None, cos, sin)[0])


def test_table_gradients_of_empty_inputs(device):
    cos, sin = tables(6, 4, device)
    q = make("bhsd", 2, 3, 4, 8, device, torch.float32)
    no_heads = make("bhsd", 2, 0, 4, 8, device, torch.float32)
    for backend in ("triton", "reference"):
        with vk.use_impl(backend):
            # a k without heads adds nothing to q's sums
            got = rotary_table_backward(q, no_heads, q, no_heads, cos, sin, 1)
            want = rotary_table_backward(q, None, q, None, cos, sin, 1)
            assert_close(got[0], want[0])
            assert_close(got[1], want[1])
            for empty in (make("bhsd", 0, 3, 4, 8, device, torch.float32),
                          make("bhsd", 2, 3, 0, 8, device, torch.float32)):
                dcos, dsin = rotary_table_backward(empty, None, empty, None, cos, sin, 1)
                assert dcos.shape == cos.shape and torch.count_nonzero(dcos) == 0
                assert dsin.shape == sin.shape and torch.count_nonzero(dsin) == 0


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("interleaved", [False, True])
def test_llama_shapes_on_gpu(dtype, interleaved):
    torch.manual_seed(7)
    q = make("bhsd", 2, 32, 512, 128, "cuda", dtype)
    k = make("bhsd", 2, 8, 512, 128, "cuda", dtype)
    cos, sin = tables(1024, 64, "cuda")
    check_against_composite(q, k, cos, sin, 100, interleaved, "bhsd", dtype)
    check_against_composite(q.transpose(1, 2), k.transpose(1, 2), cos, sin, 0, interleaved, "bshd",
                            dtype)


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("interleaved", [False, True])
def test_learned_tables_at_llama_shapes_on_gpu(dtype, interleaved):
    torch.manual_seed(19)
    q = make("bshd", 2, 32, 512, 128, "cuda", dtype)
    k = make("bshd", 2, 8, 512, 128, "cuda", dtype)
    cos, sin = tables(1024, 64, "cuda", dtype)
    check_against_composite(q, k, cos, sin, 100, interleaved, "bshd", dtype, learn_tables=True)
    check_against_composite(q, k, cos, sin, torch.tensor([0, 300], device="cuda"), interleaved,
                            "bshd", dtype, learn_tables=True)


@pytest.mark.cuda
def test_learned_tables_while_cutedsl_rotates_on_gpu():
    if "cutedsl" not in vk.implementations("rotary"):
        pytest.skip("nvidia-cutlass-dsl is not installed")
    torch.manual_seed(20)
    q = make("bshd", 2, 8, 64, 128, "cuda", torch.bfloat16)
    k = make("bshd", 2, 2, 64, 128, "cuda", torch.bfloat16)
    cos, sin = tables(80, 64, "cuda")
    with vk.use_impl("cutedsl"):
        assert vk.explain("rotary", q, k, cos, sin, 0, False, "bshd")[0] == ("cutedsl", None)
        check_against_composite(q, k, cos, sin, torch.tensor([16, 3], device="cuda"), False,
                                "bshd", torch.bfloat16, learn_tables=True)
