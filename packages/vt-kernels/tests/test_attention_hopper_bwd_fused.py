"""The fused Gluon Hopper attention backward (dQ accumulated in float32 by TMA adds): sm_90a
compilation everywhere (CI has no GPU), gradients against torch's SDPA and a float32 reference on
Hopper GPUs."""

import math
import re
import subprocess
import tempfile
from pathlib import Path

import pytest
import torch
from hopper_build import HOPPER_SMEM, build_cases, build_in_subprocess, needs_hopper
from test_attention import make
from test_attention_hopper_bwd import SHAPES, check_backward, layer_inputs, small_waves

pytest.importorskip("triton.experimental.gluon.language.nvidia.hopper",
                    reason="this triton has no Gluon Hopper module")

from vt.kernels import _attention_hopper_bwd_fused as fused  # noqa: E402

CONFIGS = [(head_dim, config) for head_dim in fused.CONFIGS for config in fused.CONFIGS[head_dim]]
CONFIG_IDS = ["d{}_s{}".format(d, *c) for d, c in CONFIGS]
# Compiled on CPU: every config of the table, both dtypes, causal and not, as a launch with any
# group and lengths compiles it; and each head_dim's default as launches whose lengths are
# multiples of 16 compile it (their own variants, registers allocated anew), with heads_q ==
# heads_kv (group the constant 1) and with GQA: (head_dim, config, causal, dtype, group, aligned).
BUILDS = [(head_dim, config, causal, dtype, None, False) for head_dim, config in CONFIGS
          for causal in (False, True) for dtype in fused.DTYPES]
BUILDS += [(head_dim, fused.CONFIGS[head_dim][0], causal, "bfloat16", group, True)
           for head_dim in fused.CONFIGS for causal in (False, True) for group in (1, None)]
BUILD_IDS = ["d{}_s{}_{}_{}{}".format(d, *c, "causal" if causal else "full", dtype,
                                      "" if not aligned else "_mha16" if group == 1 else "_gqa16")
             for d, c, causal, dtype, group, aligned in BUILDS]


def ptxas_spills(ptx: str) -> int:
    """Bytes of spill stores plus loads that ptxas -v reports for the kernel (the compile metadata
    carries no spill count without a GPU: triton reads it from the loaded module)."""
    from triton import knobs

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp, "kernel.ptx")
        src.write_text(ptx)
        log = subprocess.run([knobs.nvidia.ptxas.path, "-v", "--gpu-name=sm_90a", str(src), "-o",
                              str(Path(tmp, "kernel.o"))], capture_output=True, text=True,
                             check=True).stderr
    found = re.search(r"(\d+) bytes spill stores, (\d+) bytes spill loads", log)
    return int(found[1]) + int(found[2])


def tile_loops(cubin: bytes) -> list:
    """The loops of the SASS that issue wgmma (HGMMA) and do not contain the warp-specialization
    dispatch (USETMAXREG): the consumers' tile loops. Per loop, its instruction texts."""
    from triton import knobs

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "kernel.cubin")
        path.write_bytes(cubin)
        sass = subprocess.run([knobs.nvidia.cuobjdump.path, "-sass", str(path)],
                              capture_output=True, text=True, check=True).stdout
    code = [(int(addr, 16), text.strip())
            for addr, text in re.findall(r"/\*([0-9a-f]{4,})\*/\s+([^;]*);", sass)]
    loops = []
    for addr, text in code:
        back = re.search(r"\bBRA\s+0x([0-9a-f]+)", text)
        if back and int(back[1], 16) < addr:
            body = [t for a, t in code if int(back[1], 16) <= a <= addr]
            if any("HGMMA" in t for t in body) and not any("USETMAXREG" in t for t in body):
                loops.append(body)
    return loops


def build(case) -> dict:
    """Compiles one case for sm_90a; what the test checks, read off PTX, SASS and metadata."""
    head_dim, config, causal, dtype, group, aligned = case
    kernel = fused.compile_sm90(head_dim, dtype, causal, config, group, aligned)["fused"]
    ptx = kernel.asm["ptx"]
    producer = rf"setmaxnreg\.dec\.sync\.aligned\.u32\s+{fused._PRODUCER_REGS}\b"
    consumer = rf"setmaxnreg\.inc\.sync\.aligned\.u32\s+{fused._CONSUMER_REGS}\b"
    loops = tile_loops(kernel.asm["cubin"])

    def count(opcode, body):  # instructions of an opcode, predicated (@P0, @!P1) or not
        return sum(re.match(rf"(?:@!?U?P\w+\s+)?(?:{opcode})\b", t) is not None for t in body)
    return {
        "wgmma": "wgmma.mma_async" in ptx,
        # S^T waited for while dP^T is still in flight; dV and dK retired under the dQ wgmmas.
        "overlapped_wgmma": re.search(r"wgmma\.wait_group\.sync\.aligned\s+1\b", ptx) is not None,
        "dq_under_dkdv": re.search(r"wgmma\.wait_group\.sync\.aligned\s+2\b", ptx) is not None,
        # dQ's column half, dS (queries x keys) K (keys x head_dim / 2): both operands from shared
        # memory, both transposed (MN-major). Two consumers x two key halves x 4 k-steps of 16.
        "dq_wgmmas": len(re.findall(rf"m64n{head_dim // 2}k16\.f32\.\w+\.\w+\s+\{{[^}}]*\}}, "
                                    r"%rd\d+, %rd\d+, [^,]+, 1, 1, 1, 1;", ptx)),
        "tma_loads": "cp.async.bulk.tensor" in ptx and "mbarrier.arrive.expect_tx" in ptx,
        "tma_stores": "cp.async.bulk.tensor.4d.global.shared::cta" in ptx,
        "producer_regs": re.search(producer, ptx) is not None,
        "consumer_regs": re.search(consumer, ptx) is not None,
        # dQ's partials go out by TMA reduce-adds, not by atomics from registers.
        "tma_adds": len(re.findall(r"cp\.reduce\.async\.bulk\.tensor\.4d\.global\.shared::cta"
                                   r"\.add\b", ptx)),
        "atomics": len(re.findall(r"\b(?:red|atom)\.global\b", ptx)),
        "num_warps": kernel.metadata.num_warps,
        "shared": kernel.metadata.shared,
        "spill_bytes": ptxas_spills(ptx),
        "tile_loops": len(loops),
        "loop_spills": sum(count("STL|LDL", body) for body in loops),
        "loop_reds": [count("REDG", body) for body in loops],
    }


def build_all() -> list:
    return build_cases(build, BUILDS)


@pytest.fixture(scope="module")
def builds():
    return build_in_subprocess("test_attention_hopper_bwd_fused")


@pytest.mark.parametrize("index", range(len(BUILDS)), ids=BUILD_IDS)
def test_configs_compile_for_sm90_warp_specialized_without_spilling_loops(builds, index):
    built = builds[index]
    assert built["dq_wgmmas"] == 16
    for feature in ("wgmma", "overlapped_wgmma", "dq_under_dkdv", "tma_loads",
                    "tma_stores", "producer_regs", "consumer_regs"):
        assert built[feature], feature
    assert built["num_warps"] == 12  # two consumer warpgroups and the producer's
    assert built["shared"] <= HOPPER_SMEM
    # One TMA add of a 64-query x head_dim / 2 dQ tile per consumer (in its loop), no atomics.
    assert built["tma_adds"] == 2
    assert built["atomics"] == 0
    assert built["tile_loops"] == 2
    assert built["loop_reds"] == [0, 0]
    # Registers: nothing spills.
    assert built["loop_spills"] == 0
    assert built["spill_bytes"] == 0


def check(q, k, v, dout, causal, scale, config=None):
    check_backward(fused.hopper_backward_fused, q, k, v, dout, causal, scale, config)


@needs_hopper
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "b{}_hq{}_hkv{}_sq{}_sk{}_d{}".format(*s))
def test_matches_sdpa_and_the_float32_reference(shape, causal, dtype):
    q, k, v, dout = make("cuda", dtype, *shape)
    scale = 1.0 / math.sqrt(shape[-1])
    assert fused.hopper_backward_fused_reason(q, k, v, q, dout, causal, scale) is None
    check(q, k, v, dout, causal, scale)


@needs_hopper
@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("head_dim, config", CONFIGS, ids=CONFIG_IDS)
def test_every_config_is_correct(head_dim, config, causal):
    q, k, v, dout = make("cuda", torch.bfloat16, 1, 8, 2, 333, 461, head_dim)
    check(q, k, v, dout, causal, 0.3, config)


@needs_hopper
@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
def test_programs_walking_heads_in_groups_cover_every_block(monkeypatch, causal):
    small_waves(monkeypatch)
    q, k, v, dout = make("cuda", torch.bfloat16, 2, 10, 5, 700, 700, 128)
    check(q, k, v, dout, causal, 0.1)


@needs_hopper
def test_transposed_query_view_and_strided_keys():
    q, k, v, dout = layer_inputs()
    assert fused.hopper_backward_fused_reason(q, k, v, q, dout, True, 0.1) is None
    check(q, k, v, dout, True, 0.1)


@needs_hopper
@pytest.mark.parametrize("head_dim", [64, 128])
def test_keys_past_seq_k_do_not_reach_dq(head_dim):
    # Every score near -150 (q near 1, k near -1), lse too: a zero-filled key past seq_k (score
    # 0) would get p = exp(~145) = inf and dS K = inf * 0 = NaN in dq, unless it is masked.
    q, k, v, dout = make("cuda", torch.bfloat16, 1, 4, 2, 200, 100, head_dim, seed=2)
    q = (1.0 + 0.05 * q.float()).to(torch.bfloat16)
    k = (-1.0 + 0.05 * k.float()).to(torch.bfloat16)
    check(q, k, v, dout, False, 150.0 / head_dim)


@needs_hopper
def test_reasons_name_what_the_kernel_does_not_take():
    q, k, v, dout = make("cuda", torch.bfloat16, 1, 4, 2, 64, 64, 128)
    reason = fused.hopper_backward_fused_reason
    assert reason(q, k, v, q, dout, False, 0.1) is None
    floats = [t.float() for t in (q, k, v, q, dout)]
    assert "bfloat16 or float16" in reason(*floats, False, 0.1)
    assert "dout float32" in reason(q, k, v, q, dout.float(), False, 0.1)
    # A dout of (out * w).sum(): strides (0, 0, 0, 1).
    summed = torch.ones(128, device="cuda", dtype=torch.bfloat16).expand_as(dout)
    assert "TMA" in reason(q, k, v, q, summed, False, 0.1)
    for head_dim in (96, 256):
        qd, kd, vd, dd = make("cuda", torch.bfloat16, 1, 4, 2, 64, 64, head_dim)
        assert f"head_dim {head_dim}" in reason(qd, kd, vd, qd, dd, False, 0.1)
    wide = torch.randn(1, 4, 64, 129, device="cuda", dtype=torch.bfloat16)
    assert "TMA" in reason(q, k, v, q, wide[..., 1:], False, 0.1)
    strided_out = torch.randn(1, 4, 64, 256, device="cuda", dtype=torch.bfloat16)[..., ::2]
    assert "out needs a unit inner stride" in reason(q, k, v, strided_out, dout, False, 0.1)
    assert "positive" in reason(q, k, v, q, dout, False, -1.0)
    assert "packed" in reason(q[0], k[0], v[0], q[0], dout[0], False, 0.1)
    assert "CUDA" in reason(q.cpu(), k.cpu(), v.cpu(), q.cpu(), dout.cpu(), False, 0.1)
