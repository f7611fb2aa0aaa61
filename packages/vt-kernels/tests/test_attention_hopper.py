"""The Gluon Hopper attention forward: sm_90a compilation everywhere (CI has no GPU), numerics
against torch's SDPA and a float32 reference on Hopper GPUs."""

import math
import re

import pytest
import torch
import torch.nn.functional as F
from hopper_build import HOPPER_SMEM, build_cases, build_in_subprocess, needs_hopper
from test_attention import assert_as_close_as_torch, composite, make
from tolerances import assert_close

pytest.importorskip("triton.experimental.gluon.language.nvidia.hopper",
                    reason="this triton has no Gluon Hopper module")

from vt.kernels import _attention_hopper as hopper  # noqa: E402

CONFIGS = [(head_dim, config) for head_dim in (64, 128, 256)
           for config in hopper.CONFIGS[head_dim]]


def config_id(head_dim, config) -> str:
    return f"d{head_dim}_n{config.block_n}_s{config.stages}" + ("_p" if config.persistent else "")


CONFIG_IDS = [config_id(d, c) for d, c in CONFIGS]
# Compiled on CPU: the configs dispatch uses (each head_dim's default) at the head_dims it ships
# for; the other configs are correctness-tested on Hopper GPUs below.
BUILDS = [(head_dim, hopper.CONFIGS[head_dim][0], causal, dtype) for head_dim in (128, 64)
          for causal in (False, True) for dtype in hopper.DTYPES]


def has(pattern: str, ptx: str) -> bool:
    return re.search(pattern, ptx) is not None


def build(case) -> dict:
    """Compiles one case for sm_90a; what the test checks, read off its PTX and metadata."""
    head_dim, config, causal, dtype = case
    kernel = hopper.compile_sm90(head_dim, dtype, causal, config)
    ptx = kernel.asm["ptx"]
    return {
        "wgmma": "wgmma.mma_async" in ptx,
        # Q K^T of the next tile waited for while P V is still in flight.
        "overlapped_wgmma": has(r"wgmma\.wait_group\.sync\.aligned\s+1\b", ptx),
        "tma_loads": "cp.async.bulk.tensor" in ptx and "mbarrier.arrive.expect_tx" in ptx,
        # The producer gives registers back and the consumers take them (FA3's split).
        "producer_regs": has(rf"setmaxnreg\.dec\.sync\.aligned\.u32\s+{hopper._PRODUCER_REGS}\b",
                             ptx),
        "consumer_regs": has(rf"setmaxnreg\.inc\.sync\.aligned\.u32\s+{hopper._CONSUMER_REGS}\b",
                             ptx),
        # O leaves through TMA stores of the query tiles.
        "tma_store": "cp.async.bulk.tensor.4d.global.shared" in ptx,
        "num_warps": kernel.metadata.num_warps,
        "shared": kernel.metadata.shared,
    }


def build_all() -> list:
    return build_cases(build, BUILDS)


@pytest.fixture(scope="module")
def builds():
    return build_in_subprocess("test_attention_hopper")


@pytest.mark.parametrize("index", range(len(BUILDS)), ids=[
    f"{config_id(d, c)}_{'causal' if causal else 'full'}_{dtype}"
    for d, c, causal, dtype in BUILDS])
def test_shipped_configs_compile_for_sm90_warp_specialized(builds, index):
    built = builds[index]
    for feature in ("wgmma", "overlapped_wgmma", "tma_loads", "producer_regs", "consumer_regs",
                    "tma_store"):
        assert built[feature], feature
    # Two consumer warpgroups and the producer's (one warp, padded to a warpgroup).
    assert built["num_warps"] == 12
    assert built["shared"] <= HOPPER_SMEM


def test_describable_refuses_expanded_tensors():
    # TMA describes dense tensors: a stride of 0 on a dim of size > 1 is refused (CPU tensors do,
    # _describable reads only strides, shape and data_ptr).
    k = torch.randn(2, 1, 64, 128, dtype=torch.bfloat16)
    assert hopper._describable(k)
    assert hopper._describable(torch.randn(2, 4, 64, 128, dtype=torch.bfloat16))
    assert not hopper._describable(k.expand(2, 4, 64, 128))  # GQA heads expanded, stride 0
    # A dout of (out * w).sum(): strides (0, 0, 0, 1).
    assert not hopper._describable(torch.ones(128, dtype=torch.bfloat16).expand(2, 4, 64, 128))
    # The stride of a size-1 dim never matters.
    assert hopper._describable(torch.ones(128, dtype=torch.bfloat16).expand(1, 1, 1, 128))


# (batch, heads_q, heads_kv, seq_q, seq_k, head_dim): the target shapes at small batch, GQA 4:1
# and MQA, lengths that are not multiples of the tiles, seq_q != seq_k both ways.
SHAPES = [
    (2, 10, 10, 2048, 2048, 128),
    (1, 32, 8, 2048, 2048, 128),
    (2, 20, 20, 1024, 1024, 64),
    (1, 8, 1, 300, 300, 64),
    (1, 4, 4, 1000, 1000, 128),
    (2, 4, 4, 77, 77, 64),
    (2, 4, 2, 1, 1, 128),
    (1, 4, 2, 300, 500, 128),
    (1, 4, 2, 500, 300, 64),
    (1, 4, 4, 257, 257, 256),
]


def check(q, k, v, causal, scale, config=None):
    out, lse = hopper.hopper_forward(q, k, v, causal, scale, config)
    sdpa = F.scaled_dot_product_attention(q, k, v, is_causal=causal, scale=scale, enable_gqa=True)
    ref, ref_lse = composite(q, k, v, causal, scale)
    assert out.shape == q.shape and out.dtype == q.dtype
    assert lse.shape == q.shape[:3] and lse.dtype == torch.float32
    assert_as_close_as_torch(out, sdpa, ref, 2)
    assert_close(lse, ref_lse, atol=1e-3, rtol=1e-3)


@needs_hopper
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "b{}_hq{}_hkv{}_sq{}_sk{}_d{}".format(*s))
def test_matches_sdpa_and_the_float32_reference(shape, causal, dtype):
    q, k, v, _ = make("cuda", dtype, *shape)
    scale = 1.0 / math.sqrt(shape[-1])
    assert hopper.hopper_reason(q, k, v, None, causal, scale) is None
    check(q, k, v, causal, scale)


@needs_hopper
@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("head_dim, config", CONFIGS, ids=CONFIG_IDS)
def test_every_config_is_correct(head_dim, config, causal):
    q, k, v, _ = make("cuda", torch.bfloat16, 1, 4, 2, 333, 461, head_dim)
    check(q, k, v, causal, 0.3, config)


@needs_hopper
@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("config", [c for c in hopper.CONFIGS[128] if c.persistent],
                         ids=lambda c: config_id(128, c))
@pytest.mark.parametrize("seq_q", [777, 1000], ids=["odd_blocks", "even_blocks"])
def test_persistent_programs_walk_many_blocks_each(config, causal, seq_q):
    # 4 * 16 * 7 or 8 blocks over one program per SM: every program walks several blocks
    # through one ring of key/value tiles (causal ones in pairs when a head has an even count).
    q, k, v, _ = make("cuda", torch.bfloat16, 4, 16, 4, seq_q, 901, 128)
    assert 4 * 16 * 7 // 2 > torch.cuda.get_device_properties(0).multi_processor_count
    check(q, k, v, causal, 0.2, config)


@needs_hopper
def test_transposed_query_view_and_strided_keys():
    # q as attention layers hand it over: a (batch, seq, heads, dim) tensor viewed transposed.
    torch.manual_seed(1)
    q = torch.randn(2, 600, 8, 128, device="cuda", dtype=torch.bfloat16).transpose(1, 2)
    kv = torch.randn(2, 2, 600, 2, 128, device="cuda", dtype=torch.bfloat16)
    k, v = kv[:, :, :, 0], kv[:, :, :, 1]
    assert hopper.hopper_reason(q, k, v, None, True, 0.1) is None
    check(q, k, v, True, 0.1)


@needs_hopper
def test_reasons_name_what_the_kernel_does_not_take():
    q, k, v, _ = make("cuda", torch.bfloat16, 1, 4, 2, 64, 64, 128)
    assert "bfloat16 or float16" in hopper.hopper_reason(q.float(), k.float(), v.float(), None,
                                                         False, 0.1)
    mixed = hopper.hopper_reason(q, k.half(), v, None, False, 0.1)
    assert "q bfloat16, k float16, v bfloat16" in mixed
    assert "TMA" in hopper.hopper_reason(q, k[:, :1].expand_as(k), v, None, False, 0.1)
    q96, k96, v96, _ = make("cuda", torch.bfloat16, 1, 4, 2, 64, 64, 96)
    assert "head_dim 96" in hopper.hopper_reason(q96, k96, v96, None, False, 0.1)
    wide = torch.randn(1, 4, 64, 129, device="cuda", dtype=torch.bfloat16)
    assert "TMA" in hopper.hopper_reason(wide[..., 1:], k, v, None, False, 0.1)
    assert "positive" in hopper.hopper_reason(q, k, v, None, False, -1.0)
    assert "packed" in hopper.hopper_reason(q[0], k[0], v[0], None, False, 0.1)
    assert "CUDA" in hopper.hopper_reason(q.cpu(), k.cpu(), v.cpu(), None, False, 0.1)


def test_head_dim_128_defaults_to_persistent_programs():
    assert hopper.CONFIGS[128][0].persistent
    assert not any(c.persistent for head_dim in (64, 256) for c in hopper.CONFIGS[head_dim])


def test_persistent_launches_pair_causal_blocks_or_keep_one_program_per_block(monkeypatch):
    monkeypatch.setattr(hopper, "sm_count", lambda index: 132)
    plain, persistent = hopper.Config(128, 3), hopper.Config(128, 3, True)
    assert hopper._programs(plain, True, 16, 5120, 0) == (5120, False)
    assert hopper._programs(persistent, False, 16, 5120, 0) == (132, False)
    assert hopper._programs(persistent, True, 16, 5120, 0) == (132, True)
    assert hopper._programs(persistent, True, 16, 160, 0) == (80, True)  # 80 pairs
    assert hopper._programs(persistent, True, 7, 5120, 0) == (5120, False)  # odd: no pairs
