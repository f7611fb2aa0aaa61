import copy

import pytest
import torch
from conftest import ON_GPU
from optim_reference import SGD_OPTIONS, make_grads, make_params, torch_run
from tolerances import assert_close

import vt.kernels as vk
from vt.kernels import optim
from vt.kernels.optim import adamw_step, sgd_step

STEPS = 10
FP32 = {"atol": 1e-6, "rtol": 1e-5}


ADAMW_OPTIONS = [{"weight_decay": 0.0}, {"weight_decay": 0.1},
                 {"weight_decay": 0.1, "maximize": True},
                 {"weight_decay": 0.01, "betas": (0.8, 0.95), "eps": 1e-6, "lr": 1e-2}]


def _adamw_steps(params, options, step_kind, device, **amsgrad):
    """STEPS adamw_step calls on params with torch's defaults for what options leave out; the
    step as a Python int, one float32 tensor or a tensor per param. Returns (exp_avgs,
    exp_avg_sqs)."""
    lr = options.get("lr", 1e-3)
    beta1, beta2 = options.get("betas", (0.9, 0.999))
    avgs = [torch.zeros_like(p) for p in params]
    avg_sqs = [torch.zeros_like(p) for p in params]
    steps = [torch.zeros((), device=device) for _ in params]
    for step in range(1, STEPS + 1):
        if step_kind == "int":
            s = step
        elif step_kind == "tensor":
            s = torch.tensor(float(step), device=device)
        else:
            torch._foreach_add_(steps, 1.0)
            s = steps
        adamw_step(params, make_grads(params, step - 1), avgs, avg_sqs, s, lr, beta1, beta2,
                   options.get("eps", 1e-8), options["weight_decay"],
                   maximize=options.get("maximize", False), **amsgrad)
    return avgs, avg_sqs


@pytest.mark.parametrize("options, step_kind", [(o, "int") for o in ADAMW_OPTIONS] + [
    (ADAMW_OPTIONS[1], "tensor"), (ADAMW_OPTIONS[3], "per_tensor")])
def test_adamw_step_matches_torch_over_ten_steps(device, options, step_kind):
    params = make_params(device)
    expected, _ = torch_run(torch.optim.AdamW, params, STEPS, **options)
    _adamw_steps(params, options, step_kind, device)
    for p, e in zip(params, expected):
        assert_close(p, e, **FP32)


@pytest.mark.parametrize("options, step_kind", [
    ({"weight_decay": 0.1}, "int"), ({"weight_decay": 0.1, "maximize": True}, "tensor"),
    ({"weight_decay": 0.01, "betas": (0.8, 0.95), "eps": 1e-6, "lr": 1e-2}, "per_tensor")])
def test_adamw_step_with_amsgrad_matches_torch_over_ten_steps(device, options, step_kind):
    params = make_params(device)
    expected, torch_opt = torch_run(torch.optim.AdamW, params, STEPS, amsgrad=True, **options)
    max_avg_sqs = [torch.zeros_like(p) for p in params]
    _, avg_sqs = _adamw_steps(params, options, step_kind, device, amsgrad=True,
                              max_exp_avg_sqs=max_avg_sqs)
    for p, e, m, torch_state in zip(params, expected, max_avg_sqs, torch_opt.state.values()):
        assert_close(p, e, **FP32)
        assert_close(m, torch_state["max_exp_avg_sq"], **FP32)
    # The maxima lag exp_avg_sq somewhere: the amsgrad denominator was exercised.
    assert any((m > v).any() for m, v in zip(max_avg_sqs, avg_sqs))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_adamw_amsgrad_on_low_precision_states_matches_the_reference_and_torch(device, dtype):
    params = make_params(device, dtype, shapes=[(1,), (7, 3), (33, 65)])
    results = {}
    for backend in ("triton", "reference"):
        ps = [p.clone() for p in params]
        avgs, avg_sqs, max_avg_sqs = ([torch.zeros_like(p) for p in ps] for _ in range(3))
        with vk.use_impl(backend, "adamw"):
            for step in range(1, 6):
                adamw_step(ps, make_grads(ps, step - 1), avgs, avg_sqs, step, 1e-2, 0.9, 0.999,
                           1e-8, 0.1, amsgrad=True, max_exp_avg_sqs=max_avg_sqs)
        results[backend] = ps, max_avg_sqs
    # The interpreter truncates to bfloat16 instead of rounding: states drift by an ulp a step.
    slack = {} if ON_GPU or dtype != torch.bfloat16 else {"atol": 3e-2, "rtol": 3e-2}
    for (p, m), (q, n) in zip(zip(*results["triton"]), zip(*results["reference"])):
        assert p.dtype == m.dtype == dtype
        assert_close(p, q, **slack)
        assert_close(m, n, **slack)
    if dtype == torch.float16:
        return  # torch's float16 AdamW underflows exp_avg_sq and eps to 0 and divides by them
    # torch in bfloat16 rounds every intermediate, these kernels only the stored results
    leaves = [p.clone().requires_grad_(True) for p in params]
    torch_opt = torch.optim.AdamW(leaves, lr=1e-2, weight_decay=0.1, amsgrad=True, foreach=False)
    for step in range(5):
        for leaf, g in zip(leaves, make_grads(params, step)):
            leaf.grad = g
        torch_opt.step()
    for p, m, leaf in zip(*results["triton"], leaves):
        assert_close(p, leaf.detach(), reduced=True)
        assert_close(m, torch_opt.state[leaf]["max_exp_avg_sq"], reduced=True)


def test_adamw_optimizer_with_amsgrad_and_master_weights(device):
    params = make_params(device, torch.bfloat16, shapes=[(3, 11), (2000,)])
    expected, torch_opt = torch_run(torch.optim.AdamW, params, STEPS, lr=1e-2, amsgrad=True,
                                    maximize=True)
    leaves = [p.clone().requires_grad_(True) for p in params]
    opt = optim.AdamW(leaves, lr=1e-2, amsgrad=True, maximize=True, master_weights=True)
    for step in range(STEPS):
        for leaf, g in zip(leaves, make_grads(params, step)):
            leaf.grad = g
        opt.step()
    for leaf, e, torch_state in zip(leaves, expected, torch_opt.state.values()):
        state = opt.state[leaf]
        assert state["max_exp_avg_sq"].dtype == torch.float32
        assert_close(state["master_param"], e, **FP32)
        assert_close(state["max_exp_avg_sq"], torch_state["max_exp_avg_sq"], **FP32)
        assert_close(leaf, e.to(torch.bfloat16), torch.bfloat16)
    fresh = optim.AdamW([p.detach().clone().requires_grad_(True) for p in leaves], lr=1e-2,
                        amsgrad=True, master_weights=True)
    fresh.load_state_dict(opt.state_dict())
    for state in fresh.state.values():  # torch's loader would cast them to bf16
        assert state["max_exp_avg_sq"].dtype == state["master_param"].dtype == torch.float32


def test_adamw_amsgrad_state_dict_round_trips_with_torch(device):
    params = make_params(device, shapes=[(5, 7), (300,)])
    copies = [p.clone().requires_grad_(True) for p in params]
    torch_opt = torch.optim.AdamW(copies, lr=1e-2, weight_decay=0.1, amsgrad=True, foreach=False)
    leaves = [p.clone().requires_grad_(True) for p in params]
    opt = optim.AdamW(leaves, lr=1e-2, weight_decay=0.1, amsgrad=True)
    for step in range(3):
        for c, leaf, g in zip(copies, leaves, make_grads(params, step)):
            c.grad, leaf.grad = g, g.clone()
        torch_opt.step()
        opt.step()
    saved = opt.state_dict()
    assert all(set(state) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
               for state in saved["state"].values())
    assert saved["param_groups"][0]["amsgrad"] is True
    # ours continues from torch's state and torch from ours: both stay on torch's trajectory
    ours_from_torch = optim.AdamW(leaves, lr=1e-2, weight_decay=0.1, amsgrad=True)
    ours_from_torch.load_state_dict(copy.deepcopy(torch_opt.state_dict()))
    torch_copies = [leaf.detach().clone().requires_grad_(True) for leaf in leaves]
    torch_from_ours = torch.optim.AdamW(torch_copies, lr=1e-2, weight_decay=0.1, foreach=False)
    torch_from_ours.load_state_dict(copy.deepcopy(saved))
    assert torch_from_ours.param_groups[0]["amsgrad"] is True
    for step in range(3, 6):
        grads = make_grads(params, step)
        for c, leaf, t, g in zip(copies, leaves, torch_copies, grads):
            c.grad, leaf.grad, t.grad = g, g.clone(), g.clone()
        torch_opt.step()
        ours_from_torch.step()
        torch_from_ours.step()
    for c, leaf, t in zip(copies, leaves, torch_copies):
        assert_close(leaf, c, **FP32)
        assert_close(t, c, **FP32)
        assert_close(ours_from_torch.state[leaf]["max_exp_avg_sq"],
                     torch_opt.state[c]["max_exp_avg_sq"], **FP32)


def test_adamw_amsgrad_is_declined_by_the_cutedsl_backend(device):
    pytest.importorskip("cutlass", reason="nvidia-cutlass-dsl is not installed")
    from vt.kernels.cutedsl import optim as cutedsl_optim  # registers the backend
    params = make_params(device, shapes=[(4,)])
    states = [torch.zeros_like(p) for p in params]
    group = optim._Group([0], ("float32",) * 3 + (False,), [4], True)
    args = (group, params, params, states, states, None, 1, 1e-3, 0.9, 0.999, 1e-8, 0.0, False)
    maxima = [torch.zeros_like(params[0])]
    assert "amsgrad is not implemented" in cutedsl_optim._adamw_supports(*args, maxima)
    assert "amsgrad" not in (cutedsl_optim._adamw_supports(*args) or "")
    with vk.use_impl("cutedsl", "adamw"):
        assert vk._registry.select("adamw", *args, maxima).backend == "triton"


@pytest.mark.parametrize("options", SGD_OPTIONS)
def test_sgd_step_matches_torch_over_ten_steps(device, options):
    params = make_params(device)
    expected, _ = torch_run(torch.optim.SGD, params, STEPS, lr=0.05, **options)
    momentum = options["momentum"]
    bufs = [torch.empty_like(p) for p in params] if momentum else None
    for step in range(STEPS):
        sgd_step(params, make_grads(params, step), bufs, 0.05, momentum,
                 options.get("dampening", 0.0), options.get("weight_decay", 0.0),
                 options.get("nesterov", False), maximize=options.get("maximize", False),
                 first_step=step == 0)
    for p, e in zip(params, expected):
        assert_close(p, e, **FP32)


@pytest.mark.parametrize("options", [ADAMW_OPTIONS[1], ADAMW_OPTIONS[2]])
def test_adamw_optimizer_is_a_drop_in_for_torch(device, options):
    params = make_params(device)
    expected, torch_opt = torch_run(torch.optim.AdamW, params, STEPS, **options)
    leaves = [p.clone().requires_grad_(True) for p in params]
    opt = optim.AdamW(leaves, **options)
    for step in range(STEPS):
        for leaf, g in zip(leaves, make_grads(params, step)):
            leaf.grad = g
        opt.step()
    for leaf, e in zip(leaves, expected):
        assert_close(leaf, e, **FP32)
    for leaf, (_, torch_state) in zip(leaves, torch_opt.state.items()):
        assert float(opt.state[leaf]["step"]) == float(torch_state["step"]) == STEPS
        assert_close(opt.state[leaf]["exp_avg"], torch_state["exp_avg"], **FP32)
        assert_close(opt.state[leaf]["exp_avg_sq"], torch_state["exp_avg_sq"], **FP32)


@pytest.mark.parametrize("options", [SGD_OPTIONS[0], SGD_OPTIONS[3], SGD_OPTIONS[4]])
def test_sgd_optimizer_is_a_drop_in_for_torch(device, options):
    params = make_params(device)
    expected, _ = torch_run(torch.optim.SGD, params, STEPS, lr=0.05, **options)
    leaves = [p.clone().requires_grad_(True) for p in params]
    opt = optim.SGD(leaves, lr=0.05, **options)
    for step in range(STEPS):
        for leaf, g in zip(leaves, make_grads(params, step)):
            leaf.grad = g
        opt.step()
    for leaf, e in zip(leaves, expected):
        assert_close(leaf, e, **FP32)


def test_adamw_continues_from_a_torch_state_dict(device):
    params = make_params(device, shapes=[(5, 7), (300,)])
    copies = [p.clone().requires_grad_(True) for p in params]
    torch_opt = torch.optim.AdamW(copies, lr=1e-2, weight_decay=0.1, foreach=False)
    leaves = [p.clone().requires_grad_(True) for p in params]
    for step in range(3):
        for c, g in zip(copies, make_grads(params, step)):
            c.grad = g
        torch_opt.step()
    with torch.no_grad():
        for leaf, c in zip(leaves, copies):
            leaf.copy_(c)
    opt = optim.AdamW(leaves, lr=1e-2, weight_decay=0.1)
    opt.load_state_dict(copy.deepcopy(torch_opt.state_dict()))  # as if read from disk
    for step in range(3, 6):
        grads = make_grads(params, step)
        for c, leaf, g in zip(copies, leaves, grads):
            c.grad, leaf.grad = g, g.clone()
        torch_opt.step()
        opt.step()
    for leaf, c in zip(leaves, copies):
        assert_close(leaf, c, **FP32)


def test_master_weights_follow_a_float32_torch_run_rounded(device):
    params = make_params(device, torch.bfloat16)
    expected, _ = torch_run(torch.optim.AdamW, params, STEPS, weight_decay=0.1)
    masters = [p.float() for p in params]
    avgs = [torch.zeros_like(m) for m in masters]
    avg_sqs = [torch.zeros_like(m) for m in masters]
    for step in range(1, STEPS + 1):
        adamw_step(params, make_grads(params, step - 1), avgs, avg_sqs, step, 1e-3, 0.9, 0.999,
                   1e-8, 0.1, master_params=masters)
    for p, m, e in zip(params, masters, expected):
        assert p.dtype == torch.bfloat16
        assert_close(m, e, **FP32)
        # The param is the master rounded once (the interpreter may round one ulp differently).
        assert_close(p, m.to(torch.bfloat16), atol=0, rtol=8e-3)
        assert_close(p, e.to(torch.bfloat16), torch.bfloat16)


@pytest.mark.parametrize("kind", ["adamw", "sgd"])
def test_optimizers_with_master_weights_match_float32_torch(device, kind):
    params = make_params(device, torch.bfloat16, shapes=[(3, 11), (2000,)])
    if kind == "adamw":
        expected, _ = torch_run(torch.optim.AdamW, params, STEPS, lr=1e-2)
        leaves = [p.clone().requires_grad_(True) for p in params]
        opt = optim.AdamW(leaves, lr=1e-2, master_weights=True)
    else:
        expected, _ = torch_run(torch.optim.SGD, params, STEPS, lr=0.05, momentum=0.9,
                                nesterov=True)
        leaves = [p.clone().requires_grad_(True) for p in params]
        opt = optim.SGD(leaves, lr=0.05, momentum=0.9, nesterov=True, master_weights=True)
    for step in range(STEPS):
        for leaf, g in zip(leaves, make_grads(params, step)):
            leaf.grad = g
        opt.step()
    for leaf, e in zip(leaves, expected):
        assert_close(opt.state[leaf]["master_param"], e, **FP32)
        assert_close(leaf, e.to(torch.bfloat16), torch.bfloat16)
    saved = opt.state_dict()
    fresh = type(opt)([p.detach().clone().requires_grad_(True) for p in leaves], lr=1e-2,
                      master_weights=True)
    fresh.load_state_dict(saved)
    for state in fresh.state.values():
        assert state["master_param"].dtype == torch.float32  # torch's loader would cast to bf16


def test_mixed_dtypes_group_and_agree_with_the_reference(device):
    params = (make_params(device, shapes=[(10,), (1500,)])
              + make_params(device, torch.bfloat16, shapes=[(17,), (300,)])
              + make_params(device, torch.float16, shapes=[(5,)]))
    results = {}
    for backend in ("triton", "reference"):
        ps = [p.clone() for p in params]
        avgs = [torch.zeros_like(p) for p in ps]
        avg_sqs = [torch.zeros_like(p) for p in ps]
        with vk.use_impl(backend):
            for step in range(1, 4):
                adamw_step(ps, make_grads(ps, step), avgs, avg_sqs, step, 1e-2, 0.9, 0.999, 1e-8,
                           0.1)
        results[backend] = ps
    for a, b in zip(results["triton"], results["reference"]):
        assert a.dtype == b.dtype
        # The interpreter truncates to bfloat16 instead of rounding: states drift by an ulp a step.
        slack = {} if ON_GPU or a.dtype != torch.bfloat16 else {"atol": 3e-2, "rtol": 3e-2}
        assert_close(a, b, **slack)


def test_sgd_backends_agree(device):
    params = make_params(device, shapes=[(3,), (1100,)])
    results = []
    for backend in ("triton", "reference"):
        ps = [p.clone() for p in params]
        bufs = [torch.empty_like(p) for p in ps]
        with vk.use_impl(backend, "sgd"):
            for step in range(3):
                sgd_step(ps, make_grads(ps, step), bufs, 0.1, 0.9, 0.0, 0.01, True,
                         first_step=step == 0)
        results.append(ps)
    for a, b in zip(*results):
        assert_close(a, b, **FP32)


def test_repeated_steps_reuse_the_cached_table(device):
    params = make_params(device, shapes=[(20,), (30,)])
    grads = make_grads(params, 0)
    avgs = [torch.zeros_like(p) for p in params]
    avg_sqs = [torch.zeros_like(p) for p in params]
    adamw_step(params, grads, avgs, avg_sqs, 1, 1e-3, 0.9, 0.999, 1e-8, 0.0)
    states = {"exp_avg": avgs, "exp_avg_sq": avg_sqs}
    group, = optim._plan("adamw_step", params, grads, states, None, None)
    table = group.table
    assert table is not None
    adamw_step(params, grads, avgs, avg_sqs, 2, 1e-3, 0.9, 0.999, 1e-8, 0.0)
    assert group.table is table


def test_empty_tensors_and_empty_lists_are_skipped(device):
    params = [torch.randn(0, device=device), torch.randn(4, device=device)]
    grads = make_grads(params, 0)
    before = params[1].clone()
    sgd_step(params, grads, None, 0.5, 0.0, 0.0, 0.0, False)
    assert_close(params[1], before - 0.5 * grads[1])
    adamw_step([], [], [], [], 1, 1e-3, 0.9, 0.999, 1e-8, 0.0)


class _ForeignArray:
    """The allocation surface of a non-torch array, backed by torch for the test."""

    def __init__(self, tensor):
        self.tensor = tensor

    def new_empty(self, shape, dtype):
        return torch.empty(shape, dtype=getattr(torch, dtype), device=self.tensor.device)


def test_the_torch_free_table_writer_stores_64_bit_values(device):
    values = [2**40 + 3, 5, 0, 2**62 - 1] + list(range(30))
    table = optim._device_int64(values, _ForeignArray(torch.empty(1, device=device)))
    assert table.tolist() == values


def test_bad_input_raises(device):
    params = make_params(device, shapes=[(4,), (6,)])
    grads = make_grads(params, 0)
    states = [torch.zeros_like(p) for p in params]
    with pytest.raises(RuntimeError, match="adamw_step: amsgrad needs max_exp_avg_sqs"):
        adamw_step(params, grads, states, states, 1, 1e-3, 0.9, 0.999, 1e-8, 0.0, amsgrad=True)
    with pytest.raises(RuntimeError, match="adamw_step: got 2 params and 1 max_exp_avg_sqs"):
        adamw_step(params, grads, states, states, 1, 1e-3, 0.9, 0.999, 1e-8, 0.0, amsgrad=True,
                   max_exp_avg_sqs=states[:1])
    with pytest.raises(RuntimeError, match=r"max_exp_avg_sq 1 has shape \(5,\), expected \(6,\)"):
        adamw_step(params, grads, states, states, 1, 1e-3, 0.9, 0.999, 1e-8, 0.0, amsgrad=True,
                   max_exp_avg_sqs=[states[0], torch.zeros(5, device=device)])
    with pytest.raises(TypeError, match="states of param 0 have different dtypes"):
        adamw_step(params, grads, states, states, 1, 1e-3, 0.9, 0.999, 1e-8, 0.0, amsgrad=True,
                   max_exp_avg_sqs=[s.half() for s in states])
    with pytest.raises(RuntimeError, match=r"adamw_step: grad 1 has shape \(5,\), expected \(6,\)"):
        adamw_step(params, [grads[0], torch.zeros(5, device=device)], states, states, 1, 1e-3,
                   0.9, 0.999, 1e-8, 0.0)
    with pytest.raises(TypeError, match="param 0 must be float32.*int64"):
        sgd_step([torch.zeros(3, dtype=torch.int64, device=device)],
                 [torch.zeros(3, device=device)], None, 0.1, 0.0, 0.0, 0.0, False)
    with pytest.raises(RuntimeError, match="got 2 params and 1 grads"):
        sgd_step(params, grads[:1], None, 0.1, 0.0, 0.0, 0.0, False)
    with pytest.raises(ValueError, match="Nesterov"):
        sgd_step(params, grads, states, 0.1, 0.9, 0.1, 0.0, True)
    with pytest.raises(ValueError, match="betas"):
        adamw_step(params, grads, states, states, 1, 1e-3, 1.0, 0.999, 1e-8, 0.0)
    with pytest.raises(ValueError, match="step must be >= 1"):
        adamw_step(params, grads, states, states, 0, 1e-3, 0.9, 0.999, 1e-8, 0.0)
    with pytest.raises(TypeError, match="master param 0 must be float32"):
        adamw_step(params, grads, states, states, 1, 1e-3, 0.9, 0.999, 1e-8, 0.0,
                   master_params=[p.half() for p in params])
    with pytest.raises(TypeError, match="step must be a float32 tensor"):
        adamw_step(params, grads, states, states, torch.tensor(1, device=device), 1e-3, 0.9,
                   0.999, 1e-8, 0.0)
