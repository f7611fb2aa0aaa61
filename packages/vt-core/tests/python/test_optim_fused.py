"""The fused optimizer ops (_fused_adam_, _fused_sgd_) against torch.optim's single-tensor Adam,
AdamW and SGD (foreach=False): several steps over parameters of assorted sizes (one large enough
to run in parallel, odd sizes for the vector tail, 0-dim and empty ones), params joining late so
that steps differ within a group, float32/float64 compared closely, float16/bfloat16 against
torch's float32 arithmetic rounded once; non-contiguous layouts; the errors bad lists raise."""

from __future__ import annotations

import pytest
import torch
import vt.core as vt
from reference import assert_same, from_torch, to_torch
from vt.core import _C

SHAPES = [(4, 3), (37,), (), (0, 5), (300, 257)]  # the last one is split over threads
TOLERANCE = {torch.float32: {"rtol": 1e-6, "atol": 1e-6},
             torch.float64: {"rtol": 1e-10, "atol": 1e-12}}
STEPS = 8


def grad_schedule(step: int, index: int) -> bool:
    """Whether param `index` has a gradient at `step`: the second param joins at step 3."""
    return not (index == 1 and step < 3)


class VtAdam:
    """Per-parameter state kept as torch.optim keeps it, updated by one _fused_adam_ call."""

    STATE = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")

    def __init__(self, params, amsgrad: bool, fused=_C._fused_adam_, **options):
        self.params, self.amsgrad, self.fused, self.options = params, amsgrad, fused, options
        self.state = {}

    def step(self, grads):
        lists = ([], [], [], [], [], [])
        for i, (p, g) in enumerate(zip(self.params, grads)):
            if g is None:
                continue
            if i not in self.state:
                self.state[i] = {"step": 0, **{k: vt.zeros_like(p) for k in self.STATE}}
            s = self.state[i]
            s["step"] += 1
            for dst, value in zip(lists, (p, g, *(s[k] for k in self.STATE), s["step"])):
                dst.append(value)
        if not self.amsgrad:
            lists[4].clear()
        self.fused(*lists, amsgrad=self.amsgrad, **self.options)


def run_adam(dtype, torch_name, amsgrad=False, maximize=False, betas=(0.9, 0.999),
             weight_decay=0.0, fused=_C._fused_adam_):
    g = torch.Generator().manual_seed(0)
    t_params = [torch.randn(s, generator=g, dtype=dtype, requires_grad=True) for s in SHAPES]
    v_params = [from_torch(p) for p in t_params]
    t_opt = getattr(torch.optim, torch_name)(t_params, lr=0.01, betas=betas,
                                             weight_decay=weight_decay, amsgrad=amsgrad,
                                             maximize=maximize, foreach=False)
    v_opt = VtAdam(v_params, amsgrad, fused=fused, lr=0.01, beta1=betas[0], beta2=betas[1],
                   weight_decay=weight_decay, eps=1e-8, maximize=maximize,
                   decoupled_weight_decay=torch_name == "AdamW")
    for step in range(STEPS):
        grads = [torch.randn(s, generator=g, dtype=dtype) if grad_schedule(step, i) else None
                 for i, s in enumerate(SHAPES)]
        for p, gr in zip(t_params, grads):
            p.grad = gr
        t_opt.step()
        v_opt.step([None if gr is None else from_torch(gr) for gr in grads])
    return t_params, v_params, t_opt, v_opt


ADAM_CASES = [
    ("Adam", {}),
    ("Adam", {"amsgrad": True, "weight_decay": 0.1}),
    ("Adam", {"maximize": True, "weight_decay": 0.05}),
    ("AdamW", {"weight_decay": 0.1}),
    ("AdamW", {"amsgrad": True, "maximize": True, "betas": (0.3, 0.9)}),  # lerp weight >= 0.5
]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("name,options", ADAM_CASES, ids=[f"{n}-{o}" for n, o in ADAM_CASES])
def test_adam_matches_torch(dtype, name, options):
    t_params, v_params, t_opt, v_opt = run_adam(dtype, name, **options)
    for i, (tp, vp) in enumerate(zip(t_params, v_params)):
        assert_same(vp, tp.detach(), **TOLERANCE[dtype])
        if tp.numel() == 0:
            continue
        t_state, v_state = t_opt.state[tp], v_opt.state[i]
        assert v_state["step"] == t_state["step"].item() == STEPS - (3 if i == 1 else 0)
        keys = ["exp_avg", "exp_avg_sq"] + (["max_exp_avg_sq"] if options.get("amsgrad") else [])
        for key in keys:
            assert_same(v_state[key], t_state[key], **TOLERANCE[dtype])


def test_boxed_op_gives_the_same_update():
    """vt.core.ops.vt._fused_adam_ (through the dispatcher's boxed path) equals the binding."""
    _, direct, _, _ = run_adam(torch.float32, "AdamW", amsgrad=True, weight_decay=0.1)
    _, boxed, _, _ = run_adam(torch.float32, "AdamW", amsgrad=True, weight_decay=0.1,
                              fused=vt.ops.vt._fused_adam_)
    for a, b in zip(direct, boxed):
        assert_same(a, to_torch(b), rtol=0, atol=0)


def run_sgd(dtype, **options):
    g = torch.Generator().manual_seed(1)
    t_params = [torch.randn(s, generator=g, dtype=dtype, requires_grad=True) for s in SHAPES]
    v_params = [from_torch(p) for p in t_params]
    t_opt = torch.optim.SGD(t_params, lr=0.05, foreach=False, **options)
    buffers = {}
    momentum = options.get("momentum", 0.0)
    for step in range(STEPS):
        grads = [torch.randn(s, generator=g, dtype=dtype) if grad_schedule(step, i) else None
                 for i, s in enumerate(SHAPES)]
        for p, gr in zip(t_params, grads):
            p.grad = gr
        t_opt.step()
        live = [i for i, gr in enumerate(grads) if gr is not None]
        first = [i not in buffers for i in live] if momentum else []
        if momentum:
            for i in live:
                buffers.setdefault(i, vt.empty_like(v_params[i]))
        _C._fused_sgd_([v_params[i] for i in live], [from_torch(grads[i]) for i in live],
                       [buffers[i] for i in live] if momentum else [], first, lr=0.05,
                       momentum=momentum, dampening=options.get("dampening", 0.0),
                       weight_decay=options.get("weight_decay", 0.0),
                       nesterov=options.get("nesterov", False),
                       maximize=options.get("maximize", False))
    return t_params, v_params, t_opt, buffers


SGD_CASES = [
    {},
    {"weight_decay": 0.1, "maximize": True},
    {"momentum": 0.9},
    {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
    {"momentum": 0.5, "dampening": 0.3, "maximize": True},
]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("options", SGD_CASES, ids=[str(o) for o in SGD_CASES])
def test_sgd_matches_torch(dtype, options):
    t_params, v_params, t_opt, buffers = run_sgd(dtype, **options)
    for i, (tp, vp) in enumerate(zip(t_params, v_params)):
        assert_same(vp, tp.detach(), **TOLERANCE[dtype])
        if options.get("momentum") and tp.numel():
            assert_same(buffers[i], t_opt.state[tp]["momentum_buffer"], **TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
def test_16_bit_params_compute_in_float_and_round_once(dtype):
    """One step on 16-bit tensors equals torch's float32 step on the same values, rounded once."""
    g = torch.Generator().manual_seed(2)
    shapes = [(3, 5), (77,)]

    def values(scale=1.0, positive=False):
        draw = torch.rand if positive else torch.randn
        return [(draw(s, generator=g) * scale).to(dtype) for s in shapes]

    params, grads, exp_avgs, exp_avg_sqs = values(), values(), values(0.1), values(positive=True)
    v_params, v_exp_avgs = [from_torch(p) for p in params], [from_torch(m) for m in exp_avgs]
    _C._fused_adam_(v_params, [from_torch(x) for x in grads], v_exp_avgs,
                    [from_torch(v) for v in exp_avg_sqs], [], [4, 4], lr=0.01, beta1=0.9,
                    beta2=0.999, weight_decay=0.1, eps=1e-8, amsgrad=False, maximize=False,
                    decoupled_weight_decay=True)
    t_params = [p.float().requires_grad_() for p in params]
    t_opt = torch.optim.AdamW(t_params, lr=0.01, weight_decay=0.1, foreach=False)
    for p, gr, m, v in zip(t_params, grads, exp_avgs, exp_avg_sqs):
        p.grad = gr.float()
        t_opt.state[p] = {"step": torch.tensor(3.0), "exp_avg": m.float(),
                          "exp_avg_sq": v.float()}
    t_opt.step()
    for vp, vm, tp in zip(v_params, v_exp_avgs, t_params):
        assert_same(vp, tp.detach().to(dtype), rtol=0, atol=0)
        assert_same(vm, t_opt.state[tp]["exp_avg"].to(dtype), rtol=0, atol=0)


def transposed(t):
    return t.t().contiguous().t()


# (param's base, the param as a view of it, how grads are laid out)
LAYOUTS = {
    "transposed everywhere": (lambda t: t, transposed, transposed),
    "transposed param, contiguous grads": (lambda t: t, transposed, lambda t: t),
    "strided slice": (lambda t: torch.cat([t, t * 0], 1), lambda base: base[:, :5], transposed),
}


@pytest.mark.parametrize("layout", LAYOUTS, ids=list(LAYOUTS))
def test_non_contiguous_tensors_update_in_place(layout):
    """Dense layouts shared by every tensor run as flat arrays; other layouts run on copies that
    are written back, leaving the rest of a sliced param's storage alone."""
    make_base, view, grad_layout = LAYOUTS[layout]
    g = torch.Generator().manual_seed(3)
    t_base = make_base(torch.randn(6, 5, generator=g, dtype=torch.float64))
    v_base = from_torch(t_base)
    tp, vp = view(t_base), view(v_base)
    grads = [grad_layout(torch.randn(6, 5, generator=g, dtype=torch.float64)) for _ in range(3)]
    m, v = vt.zeros_like(vp), vt.zeros_like(vp)
    t_opt = torch.optim.Adam([tp.requires_grad_()], lr=0.1, foreach=False)
    version = vp._version
    for step, gr in enumerate(grads, 1):
        tp.grad = gr
        t_opt.step()
        _C._fused_adam_([vp], [from_torch(gr)], [m], [v], [], [step], lr=0.1, beta1=0.9,
                        beta2=0.999, weight_decay=0.0, eps=1e-8, amsgrad=False, maximize=False)
    assert vp._version > version
    assert_same(v_base, t_base.detach(), rtol=1e-12, atol=1e-14)
    assert_same(m, t_opt.state[tp]["exp_avg"], rtol=1e-12, atol=1e-14)


def adam_call(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs=(), steps=None,
              amsgrad=False):
    steps = [1] * len(params) if steps is None else steps
    _C._fused_adam_(params, grads, exp_avgs, exp_avg_sqs, list(max_exp_avg_sqs), steps, lr=0.1,
                    beta1=0.9, beta2=0.999, weight_decay=0.0, eps=1e-8, amsgrad=amsgrad,
                    maximize=False)


def test_adam_errors_name_the_op_index_shapes_and_dtypes():
    a, b = vt.zeros(2, 3), vt.zeros(4)
    cases = [
        (([a, b], [a], [a, b], [a, b]), {},
         r"_fused_adam_: expected grads to hold one tensor per param \(2\), got 1"),
        (([a, b], [a, b], [a, b], [a, vt.zeros(3)]), {},
         (r"_fused_adam_: exp_avg_sqs\[1\] has shape \[3\] and dtype float32, "
          r"but params\[1\] has shape \[4\] and dtype float32")),
        (([a], [vt.zeros(2, 3, dtype=vt.float64)], [a], [a]), {},
         r"grads\[0\] has shape \[2, 3\] and dtype float64, but params\[0\]"),
        (([vt.zeros(2, dtype=vt.int64)] * 4), {},
         r"params\[0\] has dtype int64; expected float16, bfloat16, float32 or float64"),
        (([a], [a], [a], [a]), {"amsgrad": True},
         r"expected max_exp_avg_sqs to hold one tensor per param \(1\), got 0"),
        (([a], [a], [a], [a]), {"steps": [1, 2]},
         r"expected state_steps to hold one step per param \(1\), got 2"),
        (([a], [a], [a], [a]), {"steps": [0]},
         r"state_steps\[0\] is 0; the step being taken counts from 1"),
    ]
    for args, kwargs, message in cases:
        with pytest.raises(RuntimeError, match=message):
            adam_call(*args, **kwargs)
    before = a.tolist()
    with pytest.raises(TypeError):
        adam_call([a], [1.0], [a], [a])
    assert a.tolist() == before


def test_sgd_errors_name_the_op_and_lists():
    a = vt.zeros(3)
    kw = {"lr": 0.1, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False, "maximize": False}
    with pytest.raises(RuntimeError, match=r"_fused_sgd_: expected momentum_buffers to hold one "
                                           r"tensor per param \(1\), got 0"):
        _C._fused_sgd_([a], [a], [], [], momentum=0.9, **kw)
    with pytest.raises(RuntimeError, match=r"_fused_sgd_: expected is_first_step to hold one flag "
                                           r"per param \(1\), got 0"):
        _C._fused_sgd_([a], [a], [a], [], momentum=0.9, **kw)
    with pytest.raises(RuntimeError, match=r"_fused_sgd_: momentum_buffers\[0\] has shape \[2\]"):
        _C._fused_sgd_([a], [a], [vt.zeros(2)], [True], momentum=0.9, **kw)
    # Without momentum the buffer list is not used.
    _C._fused_sgd_([a], [vt.ones(3)], [], [], momentum=0.0, **kw)
    assert a.tolist() == pytest.approx([-0.1] * 3)


def test_a_group_may_mix_dtypes():
    """Each param is updated in its own dtype, as separate single-dtype calls would."""
    g = torch.Generator().manual_seed(4)
    dtypes = (torch.float32, torch.float64, torch.bfloat16)
    params = [torch.randn(9, generator=g).to(dt) for dt in dtypes]
    grads = [torch.randn(9, generator=g).to(dt) for dt in dtypes]
    v_params = [from_torch(p) for p in params]
    _C._fused_sgd_(v_params, [from_torch(gr) for gr in grads], [], [], lr=0.1, momentum=0.0,
                   dampening=0.0, weight_decay=0.1, nesterov=False, maximize=False)
    # torch on the bfloat16 param's values in float32 (vt computes 16-bit params in float32)
    t_params = [(p.float() if p.dtype == torch.bfloat16 else p).requires_grad_() for p in params]
    for p, gr in zip(t_params, grads):
        p.grad = gr.to(p.dtype)
    torch.optim.SGD(t_params, lr=0.1, weight_decay=0.1, foreach=False).step()
    for vp, tp, dt in zip(v_params, t_params, dtypes):
        assert_same(vp, tp.detach().to(dt), rtol=0, atol=0)
