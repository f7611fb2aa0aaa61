"""Forward+backward of each op of the miniGPT training step (examples/minigpt, batch 16 x 64
tokens, width 128, 4 heads), vt.torch against torch in the same process: where the step's
time goes and which op is behind."""

from __future__ import annotations

import pathlib
import sys

import torch as real_torch

import vt.torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "vt-core" / "benchmarks"))
from _timing import paired_seconds, report  # noqa: E402

B, T, C, H, V = 16, 64, 128, 4, 256


def cases(torch):
    F = torch.nn.functional
    torch.manual_seed(0)

    def leaf(*shape):
        return torch.randn(*shape).requires_grad_()

    x, w_qkv, b_qkv = leaf(B, T, C), leaf(3 * C, C), leaf(3 * C)
    w_up, w_down, h_up = leaf(4 * C, C), leaf(C, 4 * C), leaf(B, T, 4 * C)
    q, k, v = leaf(B, H, T, C // H), leaf(B, H, T, C // H), leaf(B, H, T, C // H)
    ln_w, ln_b = leaf(C), leaf(C)
    logits, targets = leaf(B * T, V), torch.randint(0, V, (B * T,))
    table, idx = leaf(V, C), torch.randint(0, V, (B, T))

    def fwd_bwd(f):
        def run():
            f().sum().backward()
        return run

    return {
        "linear 1024x128 -> 384 (qkv)": fwd_bwd(lambda: F.linear(x, w_qkv, b_qkv)),
        "linear 1024x128 -> 512 (mlp up)": fwd_bwd(lambda: F.linear(x, w_up)),
        "linear 1024x512 -> 128 (mlp down)": fwd_bwd(lambda: F.linear(h_up, w_down)),
        "linear 1024x128 -> 256 (tied head)": fwd_bwd(lambda: F.linear(x, table)),
        "sdpa causal 16x4x64x32": fwd_bwd(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True)),
        "layer_norm 1024x128": fwd_bwd(lambda: F.layer_norm(x, (C,), ln_w, ln_b)),
        "gelu 1024x512": fwd_bwd(lambda: F.gelu(h_up)),
        "cross_entropy 1024x256": fwd_bwd(lambda: F.cross_entropy(logits, targets)),
        "embedding 256x128[16x64]": fwd_bwd(lambda: F.embedding(idx, table)),
        "split+view+transpose (qkv heads)": fwd_bwd(
            lambda: sum(z.view(B, T, H, C // H).transpose(1, 2) for z in F.linear(x, w_qkv).split(C, dim=2))),
    }


def main() -> None:
    real_torch.set_num_threads(max(1, real_torch.get_num_threads()))
    vt_cases, torch_cases = cases(vt.torch), cases(real_torch)
    print(f"miniGPT ops, forward+backward (torch threads: {real_torch.get_num_threads()})")
    for name in vt_cases:
        vt_s, torch_s = paired_seconds(vt_cases[name], torch_cases[name], number=20, repeat=7)
        report(name, vt_s, torch_s, target=1.0)


if __name__ == "__main__":
    main()
