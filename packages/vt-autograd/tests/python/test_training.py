"""Multi-step regressions: a small MLP and a small transformer trained with SGD for a few
hundred steps, vt and torch from the same parameters and data, gradients and losses compared
at every step (single-call checks miss buffer reuse and accumulation bugs)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

import vt.autograd as ag
import vt.core as vt
from reference import assert_same, from_torch

DTYPE = torch.float64
TOL = {"rtol": 1e-7, "atol": 1e-9}


def init(shapes: dict, seed: int) -> tuple[dict, dict]:
    g = torch.Generator().manual_seed(seed)
    t = {k: (torch.randn(s, generator=g, dtype=DTYPE) / math.sqrt(s[-1])).requires_grad_() for k, s in shapes.items()}
    v = {k: from_torch(p.detach()).requires_grad_() for k, p in t.items()}
    return t, v


def sgd(params: dict, lr: float, lib) -> None:
    with (torch.no_grad() if lib is torch else ag.no_grad()):
        for p in params.values():
            p.sub_(p.grad * lr)
            p.grad = None


def train(forward, t_params, v_params, batches, lr: float) -> None:
    for step, (t_batch, v_batch) in enumerate(batches):
        t_loss = forward(torch, F, t_params, *t_batch)
        v_loss = forward(vt, vt, v_params, *v_batch)
        assert_same(v_loss, t_loss.detach(), **TOL)
        t_loss.backward()
        v_loss.backward()
        for name in t_params:
            assert v_params[name].grad is not None, f"step {step}: no gradient for {name}"
            assert_same(v_params[name].grad, t_params[name].grad, **TOL)
        sgd(t_params, lr, torch)
        sgd(v_params, lr, vt)


def mlp(lib, fn, p, x, y):
    h = fn.gelu(fn.linear(x, p["w1"], p["b1"]))
    h = fn.layer_norm(h, (32,), p["g"], p["b"])
    return fn.cross_entropy(fn.linear(h, p["w2"], p["b2"]), y)


def test_mlp_tracks_torch_for_200_steps():
    shapes = {"w1": (32, 16), "b1": (32,), "g": (32,), "b": (32,), "w2": (4, 32), "b2": (4,)}
    t_params, v_params = init(shapes, seed=0)
    g = torch.Generator().manual_seed(1)
    batches = []
    for _ in range(200):
        x = torch.randn(16, 16, generator=g, dtype=DTYPE)
        y = torch.randint(0, 4, (16,), generator=g)
        batches.append(((x, y), (from_torch(x), from_torch(y))))
    train(mlp, t_params, v_params, batches, lr=0.1)


def transformer(lib, fn, p, tokens, targets):
    b, s = tokens.shape
    d, heads = 16, 2
    h = fn.embedding(tokens, p["emb"])
    h = h + p["pos"][:s]
    a = fn.layer_norm(h, (d,), p["ln1_g"], p["ln1_b"])
    qkv = fn.linear(a, p["wqkv"])
    q, k, v = qkv.split(d, dim=-1)
    q, k, v = (t.reshape(b, s, heads, d // heads).transpose(1, 2) for t in (q, k, v))
    att = fn.scaled_dot_product_attention(q, k, v, is_causal=True)
    h = h + fn.linear(att.transpose(1, 2).reshape(b, s, d), p["wo"])
    m = fn.layer_norm(h, (d,), p["ln2_g"], p["ln2_b"])
    h = h + fn.linear(fn.gelu(fn.linear(m, p["w_up"])), p["w_down"])
    logits = fn.linear(fn.layer_norm(h, (d,), p["lnf_g"], p["lnf_b"]), p["head"])
    return fn.cross_entropy(logits.reshape(b * s, -1), targets.reshape(b * s))


def test_transformer_tracks_torch_for_100_steps():
    d, vocab = 16, 20
    shapes = {"emb": (vocab, d), "pos": (8, d), "ln1_g": (d,), "ln1_b": (d,), "wqkv": (3 * d, d),
              "wo": (d, d), "ln2_g": (d,), "ln2_b": (d,), "w_up": (4 * d, d), "w_down": (d, 4 * d),
              "lnf_g": (d,), "lnf_b": (d,), "head": (vocab, d)}
    t_params, v_params = init(shapes, seed=2)
    g = torch.Generator().manual_seed(3)
    batches = []
    for _ in range(100):
        seq = torch.randint(0, vocab, (4, 9), generator=g)
        batches.append(((seq[:, :-1], seq[:, 1:]), (from_torch(seq[:, :-1]), from_torch(seq[:, 1:]))))
    train(transformer, t_params, v_params, batches, lr=0.05)
