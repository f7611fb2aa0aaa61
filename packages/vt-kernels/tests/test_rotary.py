import pytest
import torch
from rotary_reference import composite, tables
from tolerances import DTYPES, assert_close

import vt.kernels as vk
from vt.kernels.rotary import apply_rotary, rotary_backward, rotary_forward


def make(layout, batch, heads, seq, head_dim, device, dtype):
    shape = (batch, heads, seq, head_dim) if layout == "bhsd" else (batch, seq, heads, head_dim)
    return torch.randn(shape, device=device, dtype=dtype)


def leaves(*tensors):
    return [t.detach().clone().requires_grad_(True) if t is not None else None for t in tensors]


def check_against_composite(q, k, cos, sin, offset, interleaved, layout, dtype):
    dq_out = torch.randn_like(q)
    dk_out = torch.randn_like(k) if k is not None else None
    q1, k1 = leaves(q, k)
    q_out, k_out = apply_rotary(q1, k1, cos, sin, offset, interleaved, layout)
    torch.autograd.backward([t for t in (q_out, k_out) if t is not None],
                            [t for t in (dq_out, dk_out) if t is not None])
    q2, k2 = leaves(q.float(), k.float() if k is not None else None)
    q_ref = composite(q2, cos, sin, offset, interleaved, layout)
    q_ref.backward(dq_out.float())
    assert q_out.dtype == dtype and q_out.shape == q.shape and q_out.is_contiguous()
    assert_close(q_out, q_ref, dtype)
    assert_close(q1.grad, q2.grad, dtype)
    if k is None:
        assert k_out is None
        return
    k_ref = composite(k2, cos, sin, offset, interleaved, layout)
    k_ref.backward(dk_out.float())
    assert k_out.dtype == dtype and k_out.shape == k.shape and k_out.is_contiguous()
    assert_close(k_out, k_ref, dtype)
    assert_close(k1.grad, k2.grad, dtype)


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
    with pytest.raises(NotImplementedError, match="cos/sin"):
        apply_rotary(q, None, cos.requires_grad_(), sin)


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
