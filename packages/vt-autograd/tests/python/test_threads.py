"""Concurrency: backward on independent graphs from several threads at once; a leaf shared by
all of them accumulates every contribution."""

from __future__ import annotations

import threading

import torch

import vt.autograd as ag
import vt.core as vt
from reference import assert_same, from_torch

THREADS = 8


def test_eight_threads_backward_independent_graphs():
    inputs = [torch.randn(16, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(i))
              for i in range(THREADS)]
    shared_t = torch.randn(16, dtype=torch.float64, requires_grad=True)
    shared_v = from_torch(shared_t.detach()).requires_grad_()
    results, errors = [None] * THREADS, []

    def work(i):
        try:
            x = from_torch(inputs[i]).requires_grad_()
            for _ in range(20):
                x.grad = None
                y = ((x @ x).tanh() * shared_v).sum()
                y.backward()
            results[i] = x.grad
        except Exception as e:  # reported below: a thread's failure must fail the test
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a backward thread did not finish (deadlock?)"
    assert not errors, errors
    total = torch.zeros(16, dtype=torch.float64)
    for i in range(THREADS):
        x = inputs[i].clone().requires_grad_()
        for _ in range(20):
            x.grad = None
            ((x @ x).tanh() * shared_t).sum().backward()
        assert_same(results[i], x.grad, rtol=1e-10, atol=1e-12)
    assert_same(shared_v.grad, shared_t.grad, rtol=1e-10, atol=1e-10)
