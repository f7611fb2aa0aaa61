"""The Gluon Hopper attention backward: sm_90a compilation everywhere (CI has no GPU), gradients
against torch's SDPA and a float32 reference on Hopper GPUs."""

import math
import re

import pytest
import torch
import torch.nn.functional as F
from hopper_build import HOPPER_SMEM, build_cases, build_in_subprocess, needs_hopper
from test_attention import assert_as_close_as_torch, composite, make, run_with_grads

pytest.importorskip("triton.experimental.gluon.language.nvidia.hopper",
                    reason="this triton has no Gluon Hopper module")

from vt.kernels import _attention_hopper_bwd as hopper_bwd  # noqa: E402
from vt.kernels.attention import attention_forward  # noqa: E402

CONFIGS = [(head_dim, config) for head_dim in hopper_bwd.CONFIGS
           for config in hopper_bwd.CONFIGS[head_dim]]
CONFIG_IDS = ["d{}_kv{}_q{}x{}".format(d, *c) for d, c in CONFIGS]
# Compiled on CPU: each head_dim's default (what dispatch uses); the other configs are
# correctness-tested on Hopper GPUs below.
BUILDS = [(head_dim, hopper_bwd.CONFIGS[head_dim][0], causal, dtype) for head_dim in (128, 64)
          for causal in (False, True) for dtype in hopper_bwd.DTYPES]


def build(case) -> dict:
    """Compiles one case's two kernels for sm_90a; what the test checks, read off PTX and
    metadata."""
    head_dim, config, causal, dtype = case
    producer = rf"setmaxnreg\.dec\.sync\.aligned\.u32\s+{hopper_bwd._PRODUCER_REGS}\b"
    consumer = rf"setmaxnreg\.inc\.sync\.aligned\.u32\s+{hopper_bwd._CONSUMER_REGS}\b"
    built = {}
    for name, kernel in hopper_bwd.compile_sm90(head_dim, dtype, causal, config).items():
        ptx = kernel.asm["ptx"]
        built[name] = {
            "wgmma": "wgmma.mma_async" in ptx,
            # S waited for while dP (dK/dV: dP^T) is still in flight.
            "overlapped_wgmma": re.search(r"wgmma\.wait_group\.sync\.aligned\s+1\b",
                                          ptx) is not None,
            "tma_loads": "cp.async.bulk.tensor" in ptx and "mbarrier.arrive.expect_tx" in ptx,
            "tma_stores": "cp.async.bulk.tensor.4d.global.shared::cta" in ptx,
            # The producer gives registers back and the consumers take them (FA3's split).
            "producer_regs": re.search(producer, ptx) is not None,
            "consumer_regs": re.search(consumer, ptx) is not None,
            "num_warps": kernel.metadata.num_warps,
            "shared": kernel.metadata.shared,
        }
    return built


def build_all() -> list:
    return build_cases(build, BUILDS)


@pytest.fixture(scope="module")
def builds():
    return build_in_subprocess("test_attention_hopper_bwd")


@pytest.mark.parametrize("index", range(len(BUILDS)), ids=[
    "d{}_kv{}_q{}x{}_{}_{}".format(d, *c, "causal" if causal else "full", dtype)
    for d, c, causal, dtype in BUILDS])
def test_shipped_configs_compile_for_sm90_warp_specialized(builds, index):
    for name, built in builds[index].items():
        for feature in ("wgmma", "overlapped_wgmma", "tma_loads", "tma_stores", "producer_regs",
                        "consumer_regs"):
            assert built[feature], f"{name}: {feature}"
        assert built["num_warps"] == 12, name  # two consumer warpgroups and the producer's
        assert built["shared"] <= HOPPER_SMEM, name


# (batch, heads_q, heads_kv, seq_q, seq_k, head_dim): GQA 4:1 and MQA, lengths that are not
# multiples of the tiles, seq_q != seq_k both ways, one query.
SHAPES = [
    (2, 8, 8, 1024, 1024, 128),
    (1, 32, 8, 1024, 1024, 128),
    (2, 8, 2, 1000, 1000, 64),
    (1, 8, 1, 300, 300, 128),
    (2, 4, 4, 77, 77, 64),
    (1, 4, 2, 300, 500, 128),
    (1, 4, 2, 500, 300, 64),
    (2, 4, 2, 1, 1, 128),
]


def check_backward(backward, q, k, v, dout, causal, scale, config=None):
    """backward's (dq, dk, dv) from the forward's out and lse, within 3x torch's own error
    (SDPA's backward at the same precision) of a float32 reference from the same inputs."""
    out, lse = attention_forward(q, k, v, causal=causal, softmax_scale=scale)
    grads = backward(q, k, v, out, lse, dout, causal, scale, config)

    def sdpa(*x):
        return F.scaled_dot_product_attention(*x, is_causal=causal, scale=scale, enable_gqa=True)

    _, torch_grads = run_with_grads(sdpa, (q, k, v), dout)
    _, ref_grads = run_with_grads(lambda *x: composite(*x, causal, scale)[0],
                                  (q.float(), k.float(), v.float()), dout.float())
    for name, grad, like, torch_grad, ref_grad in zip("qkv", grads, (q, k, v), torch_grads,
                                                      ref_grads):
        assert grad.shape == like.shape and grad.dtype == like.dtype, name
        assert torch.isfinite(grad).all(), name
        assert_as_close_as_torch(grad, torch_grad, ref_grad, 3)


def check(q, k, v, dout, causal, scale, config=None):
    check_backward(hopper_bwd.hopper_backward, q, k, v, dout, causal, scale, config)


def layer_inputs():
    """q and dout as attention layers hand them over ((batch, seq, heads, dim) viewed
    transposed), k and v strided slices of one interleaved array."""
    torch.manual_seed(1)
    q = torch.randn(2, 600, 8, 128, device="cuda", dtype=torch.bfloat16).transpose(1, 2)
    dout = torch.randn(2, 600, 8, 128, device="cuda", dtype=torch.bfloat16).transpose(1, 2)
    kv = torch.randn(2, 2, 600, 2, 128, device="cuda", dtype=torch.bfloat16)
    return q, kv[:, :, :, 0], kv[:, :, :, 1], dout


@needs_hopper
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "b{}_hq{}_hkv{}_sq{}_sk{}_d{}".format(*s))
def test_matches_sdpa_and_the_float32_reference(shape, causal, dtype):
    q, k, v, dout = make("cuda", dtype, *shape)
    scale = 1.0 / math.sqrt(shape[-1])
    assert hopper_bwd.hopper_backward_reason(q, k, v, q, dout, causal, scale) is None
    check(q, k, v, dout, causal, scale)


@needs_hopper
@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("head_dim, config", CONFIGS, ids=CONFIG_IDS)
def test_every_config_is_correct(head_dim, config, causal):
    q, k, v, dout = make("cuda", torch.bfloat16, 1, 8, 2, 333, 461, head_dim)
    check(q, k, v, dout, causal, 0.3, config)


def small_waves(monkeypatch) -> None:
    """Waves of 18 programs at (2, 10/5, 700, 128): the dK/dV programs (6 key blocks a pair)
    walk the 10 (batch, kv head) pairs in groups of 3, 3, 3 and 1, the dQ programs (6 query
    blocks) the 20 (batch, q head) pairs in groups of 3 and a last one of 2."""
    monkeypatch.setattr(hopper_bwd, "sm_count", lambda device_index: 18)
    assert hopper_bwd.heads_per_wave(10, 6, 0) == 3
    assert hopper_bwd.heads_per_wave(20, 6, 0) == 3


def test_heads_per_wave_stays_within_the_launch(monkeypatch):
    monkeypatch.setattr(hopper_bwd, "sm_count", lambda device_index: 132)
    assert hopper_bwd.heads_per_wave(320, 16, 0) == 8  # 128 programs, about one wave
    assert hopper_bwd.heads_per_wave(3, 16, 0) == 3  # no more pairs than the launch has
    assert hopper_bwd.heads_per_wave(8, 500, 0) == 1  # at least one


@needs_hopper
@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
def test_programs_walking_heads_in_groups_cover_every_block(monkeypatch, causal):
    small_waves(monkeypatch)
    q, k, v, dout = make("cuda", torch.bfloat16, 2, 10, 5, 700, 700, 128)
    check(q, k, v, dout, causal, 0.1)


@needs_hopper
def test_transposed_query_view_and_strided_keys():
    q, k, v, dout = layer_inputs()
    assert hopper_bwd.hopper_backward_reason(q, k, v, q, dout, True, 0.1) is None
    check(q, k, v, dout, True, 0.1)


@needs_hopper
def test_reasons_name_what_the_kernel_does_not_take():
    q, k, v, dout = make("cuda", torch.bfloat16, 1, 4, 2, 64, 64, 128)
    reason = hopper_bwd.hopper_backward_reason
    assert reason(q, k, v, q, dout, False, 0.1) is None
    floats = [t.float() for t in (q, k, v, q, dout)]
    assert "bfloat16 or float16" in reason(*floats, False, 0.1)
    assert "dout float32" in reason(q, k, v, q, dout.float(), False, 0.1)
    # A dout of (out * w).sum(): strides (0, 0, 0, 1).
    summed = torch.ones(128, device="cuda", dtype=torch.bfloat16).expand_as(dout)
    assert "TMA" in reason(q, k, v, q, summed, False, 0.1)
    q96, k96, v96, d96 = make("cuda", torch.bfloat16, 1, 4, 2, 64, 64, 96)
    assert "head_dim 96" in reason(q96, k96, v96, q96, d96, False, 0.1)
    wide = torch.randn(1, 4, 64, 129, device="cuda", dtype=torch.bfloat16)
    assert "TMA" in reason(q, k, v, q, wide[..., 1:], False, 0.1)
    assert "positive" in reason(q, k, v, q, dout, False, -1.0)
    assert "packed" in reason(q[0], k[0], v[0], q[0], dout[0], False, 0.1)
    assert "CUDA" in reason(q.cpu(), k.cpu(), v.cpu(), q.cpu(), dout.cpu(), False, 0.1)
