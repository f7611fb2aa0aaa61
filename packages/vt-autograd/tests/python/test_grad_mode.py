"""Grad modes: no_grad, enable_grad, set_grad_enabled, inference_mode; thread-local."""

from __future__ import annotations

import threading

import pytest
import torch
import vt.autograd as ag
import vt.core as vt


def test_no_grad_and_nesting():
    x = vt.ones(2).requires_grad_()
    with ag.no_grad():
        assert not ag.is_grad_enabled()
        assert not (x * 2).requires_grad
        with ag.enable_grad():
            assert (x * 2).requires_grad
        assert not (x * 2).requires_grad
    assert ag.is_grad_enabled() and (x * 2).requires_grad


def test_decorators():
    x = vt.ones(2).requires_grad_()

    @ag.no_grad()
    def f():
        return x * 2

    @ag.set_grad_enabled(False)
    def g():
        return x * 3

    assert not f().requires_grad and not g().requires_grad
    assert ag.is_grad_enabled()


def test_set_grad_enabled_as_function_and_context():
    x = vt.ones(2).requires_grad_()
    ag.set_grad_enabled(False)
    try:
        assert not (x * 2).requires_grad
    finally:
        ag.set_grad_enabled(True)
    with ag.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad


def test_inference_mode():
    x = vt.ones(2).requires_grad_()
    with ag.inference_mode():
        assert not (x * 2).requires_grad
    with ag.inference_mode(False):
        assert (x * 2).requires_grad


def test_inference_mode_flag_nests_like_torch():
    seen = {}
    for lib, name in ((torch, "torch"), (ag, "vt")):
        flags = [lib.is_inference_mode_enabled()]
        with lib.inference_mode():
            flags.append(lib.is_inference_mode_enabled())
            with lib.inference_mode(False):
                flags.append(lib.is_inference_mode_enabled())
            flags.append(lib.is_inference_mode_enabled())

        @lib.inference_mode()
        def inside():
            return lib.is_inference_mode_enabled()

        flags += [lib.is_inference_mode_enabled(), inside()]
        seen[name] = flags
    assert seen["vt"] == seen["torch"] == [False, True, False, True, False, True]


def test_grad_mode_is_thread_local():
    x = vt.ones(2).requires_grad_()
    seen = {}

    def worker():
        seen["enabled"] = ag.is_grad_enabled()
        seen["requires"] = (x * 2).requires_grad

    with ag.no_grad():
        t = threading.Thread(target=worker)
        t.start()
        t.join()
    assert seen == {"enabled": True, "requires": True}


def test_enable_grad_decorates_with_or_without_parentheses_like_torch():
    import torch

    for m, x in ((torch, torch.ones(2, requires_grad=True)), (vt, vt.ones(2).requires_grad_())):
        enable_grad, no_grad = (torch.enable_grad, torch.no_grad) if m is torch else (ag.enable_grad, ag.no_grad)

        @enable_grad
        def bare(t):
            return t * 2

        @enable_grad()
        def called(t):
            return t * 3

        def plain(t):
            return t * 4

        with no_grad():
            assert bare(x).requires_grad and called(x).requires_grad
            assert enable_grad(orig_func=plain)(x).requires_grad
            assert not (x * 2).requires_grad
        assert bare.__name__ == "bare"
        with enable_grad(orig_func=None):
            assert (x * 2).requires_grad


def _both(fn):
    """Runs fn with torch and with vt (module, tensor factory) and returns both results."""
    return fn(torch, torch.tensor), fn(ag, vt.tensor)


def test_tensors_made_in_inference_mode_are_inference_tensors_like_torch():
    def probe(mod, make):
        normal = make([1.0, 2.0])
        with mod.inference_mode():
            made = normal * 2
            view = normal[:1]
        with mod.inference_mode(False):
            not_made = normal * 2
        return made.is_inference(), view.is_inference(), normal.is_inference(), not_made.is_inference(), made[:1].is_inference()

    expected, got = _both(probe)
    assert got == expected == (True, False, False, False, True)


def test_inference_tensors_refuse_in_place_updates_outside_inference_mode():
    for mod, make in ((torch, torch.tensor), (ag, vt.tensor)):
        with mod.inference_mode():
            t = make([1.0, 2.0]) + 0
            t.add_(1)  # inside: allowed
        with pytest.raises(RuntimeError, match="Inplace update to inference tensor outside InferenceMode"):
            t.add_(1)
        with pytest.raises(RuntimeError, match="Inplace update to inference tensor outside InferenceMode"):
            t[0] = 5.0
        assert tuple((t + 1).shape) == (2,)  # out-of-place use is fine


def test_inference_tensors_cannot_require_grad_or_be_saved_for_backward():
    for mod, make in ((torch, torch.tensor), (ag, vt.tensor)):
        with mod.inference_mode():
            t = make([1.0, 2.0]) + 0
        with pytest.raises(RuntimeError, match="Setting requires_grad=True on inference tensor outside InferenceMode"):
            t.requires_grad_()
        x = make([3.0, 4.0]).requires_grad_()
        with pytest.raises(RuntimeError, match="Inference tensors cannot be saved for backward"):
            x * t  # mul saves both operands
        y = x + t  # add saves nothing: allowed
        y.sum().backward()
        assert x.grad.tolist() == [1.0, 1.0]
        clone = t.clone()  # the documented way out: a clone made outside is a normal tensor
        assert not clone.is_inference()
        (x * clone).sum().backward()
