"""Learning-rate schedulers against torch.optim.lr_scheduler: a vt optimizer and a torch
optimizer (two param groups) are stepped side by side and every step's rates (and OneCycleLR's
momentum) must equal torch's; state_dict equals torch's and round-trips; bad arguments raise
torch's errors."""

from __future__ import annotations

import math

import pytest
import torch
import vt.torch as vtorch
from reference import assert_same, from_torch

REL = 1e-12
T_SCHED, V_SCHED = torch.optim.lr_scheduler, vtorch.optim.lr_scheduler


def make_optimizers(name: str = "SGD", lrs=(0.5, 0.2), **options):
    """The same optimizer in torch and in vt, one param group per rate."""
    t_groups = [{"params": [torch.zeros(1, requires_grad=True)], "lr": lr} for lr in lrs]
    v_groups = [{"params": [vtorch.nn.Parameter(vtorch.zeros(1))], "lr": lr} for lr in lrs]
    t_opt = getattr(torch.optim, name)(t_groups, **options)
    return t_opt, getattr(vtorch.optim, name)(v_groups, **options)


def momenta(opt) -> list:
    return [g["betas"][0] if "betas" in g else g.get("momentum") for g in opt.param_groups]


def assert_same_rates(t_opt, v_opt, t_sched, v_sched) -> None:
    assert v_sched.get_last_lr() == pytest.approx(t_sched.get_last_lr(), rel=REL, abs=0)
    t_lrs = [g["lr"] for g in t_opt.param_groups]
    assert [g["lr"] for g in v_opt.param_groups] == pytest.approx(t_lrs, rel=REL, abs=0)
    expected = momenta(t_opt)
    exact = None in expected  # an optimizer without momentum
    assert momenta(v_opt) == (expected if exact else pytest.approx(expected, rel=REL, abs=0))


def step_both(t_opt, v_opt, t_sched, v_sched, *args) -> None:
    t_opt.step()  # torch warns when a scheduler steps before its optimizer
    v_opt.step()
    t_sched.step(*args)
    v_sched.step(*args)


class Halver:
    """A callable object: LambdaLR saves its attributes in state_dict (functions are skipped)."""

    def __init__(self) -> None:
        self.every = 5

    def __call__(self, epoch: int) -> float:
        return 0.5 ** (epoch // self.every)


def warmup_then_cosine(S, o):
    warmup = S.LinearLR(o, start_factor=0.1, total_iters=5)
    return S.SequentialLR(o, [warmup, S.CosineAnnealingLR(o, T_max=20, eta_min=1e-3)], [5])


def three_in_sequence(S, o):
    parts = [S.ConstantLR(o, factor=0.5, total_iters=3), S.ExponentialLR(o, gamma=0.8),
             S.StepLR(o, 3, 0.5)]
    return S.SequentialLR(o, parts, milestones=[4, 12])


def lambda_then_multistep(S, o):
    parts = [S.LambdaLR(o, lambda e: 1 + e), S.MultiStepLR(o, [2, 9], gamma=0.5)]
    return S.SequentialLR(o, parts, milestones=[6])


def chain_of_two(S, o):
    return S.ChainedScheduler([S.ConstantLR(o, factor=0.1, total_iters=2),
                               S.ExponentialLR(o, gamma=0.9)])


def chain_of_three(S, o):
    parts = [S.LinearLR(o, 0.5, total_iters=4), S.StepLR(o, 5, 0.7),
             S.CosineAnnealingLR(o, T_max=12)]
    return S.ChainedScheduler(parts, optimizer=o)


# Each builder takes a scheduler module (torch's or vt's) and an optimizer of the same library.
SCHEDULES = {
    "LambdaLR": lambda S, o: S.LambdaLR(o, lambda e: 0.9 ** e + 0.1),
    "LambdaLR-per-group": lambda S, o: S.LambdaLR(o, [lambda e: 1 / (1 + e), Halver()]),
    "StepLR": lambda S, o: S.StepLR(o, step_size=4, gamma=0.5),
    "MultiStepLR": lambda S, o: S.MultiStepLR(o, milestones=[3, 7, 7, 12], gamma=0.3),
    "ConstantLR": lambda S, o: S.ConstantLR(o),
    "ConstantLR-factor": lambda S, o: S.ConstantLR(o, factor=0.25, total_iters=6),
    "LinearLR": lambda S, o: S.LinearLR(o, start_factor=0.25, total_iters=8),
    "LinearLR-decay": lambda S, o: S.LinearLR(o, 1.0, end_factor=0.1, total_iters=10),
    "ExponentialLR": lambda S, o: S.ExponentialLR(o, gamma=0.9),
    "CosineAnnealingLR": lambda S, o: S.CosineAnnealingLR(o, T_max=6, eta_min=0.01),
    "CosineAnnealingLR-to-zero": lambda S, o: S.CosineAnnealingLR(o, T_max=10),
    "SequentialLR-warmup-cosine": warmup_then_cosine,
    "SequentialLR-three": three_in_sequence,
    "SequentialLR-lambda": lambda_then_multistep,
    "ChainedScheduler": chain_of_two,
    "ChainedScheduler-three": chain_of_three,
    "OneCycleLR": lambda S, o: S.OneCycleLR(o, max_lr=1.0, total_steps=40),
}


@pytest.mark.parametrize("case", list(SCHEDULES))
def test_rates_match_torch(case):
    t_opt, v_opt = make_optimizers()
    t_sched, v_sched = SCHEDULES[case](T_SCHED, t_opt), SCHEDULES[case](V_SCHED, v_opt)
    for _ in range(40):
        assert_same_rates(t_opt, v_opt, t_sched, v_sched)
        step_both(t_opt, v_opt, t_sched, v_sched)
    assert_same_rates(t_opt, v_opt, t_sched, v_sched)


ONE_CYCLE = [
    ("SGD", {"max_lr": 1.0, "total_steps": 40}),
    ("SGD", {"max_lr": [1.0, 0.3], "total_steps": 40, "anneal_strategy": "linear",
             "pct_start": 0.25}),
    ("SGD", {"max_lr": 0.5, "epochs": 4, "steps_per_epoch": 10, "three_phase": True}),
    ("SGD", {"max_lr": 0.5, "total_steps": 33, "three_phase": True, "anneal_strategy": "linear",
             "div_factor": 10.0, "final_div_factor": 100.0}),
    ("SGD", {"max_lr": 0.5, "total_steps": 40, "base_momentum": [0.8, 0.7],
             "max_momentum": [0.99, 0.9]}),
    ("SGD", {"max_lr": 0.5, "total_steps": 40, "cycle_momentum": False}),
    ("Adam", {"max_lr": 0.01, "total_steps": 40}),
    ("Adam", {"max_lr": 0.01, "total_steps": 40, "three_phase": True, "base_momentum": 0.6}),
    ("RMSprop", {"max_lr": 0.01, "total_steps": 40, "pct_start": 0.5}),
]


@pytest.mark.parametrize("optimizer,options", ONE_CYCLE, ids=[f"{n}-{o}" for n, o in ONE_CYCLE])
def test_one_cycle_rates_and_momentum_match_torch(optimizer, options):
    extra = {"momentum": 0.9} if optimizer == "SGD" else {}
    t_opt, v_opt = make_optimizers(optimizer, **extra)
    t_sched, v_sched = T_SCHED.OneCycleLR(t_opt, **options), V_SCHED.OneCycleLR(v_opt, **options)
    for _ in range(t_sched.total_steps):
        assert_same_rates(t_opt, v_opt, t_sched, v_sched)
        step_both(t_opt, v_opt, t_sched, v_sched)
    assert_same_rates(t_opt, v_opt, t_sched, v_sched)
    with pytest.raises(ValueError) as expected:
        t_sched.step()
    with pytest.raises(ValueError) as got:
        v_sched.step()
    assert str(got.value) == str(expected.value)
    assert str(got.value).startswith(f"Tried to step {t_sched.total_steps + 1} times.")


# A metric that improves, stalls with noise, improves again, then creeps down by tiny amounts.
METRICS = [10 - min(i, 8) + (i % 4) * 0.3 if i < 25 else 2 - (i - 25) * 1e-5 for i in range(45)]

PLATEAU = [
    {},
    {"patience": 2, "factor": 0.5},
    {"mode": "max", "threshold_mode": "abs", "threshold": 0.1, "patience": 1},
    {"patience": 0, "cooldown": 3, "min_lr": [0.05, 0.0], "factor": 0.3},
    {"patience": 1, "factor": 0.9, "eps": 0.03, "min_lr": 0.1},
    {"patience": 3, "threshold": 1e-2, "threshold_mode": "abs", "cooldown": 1},
]


@pytest.mark.parametrize("options", PLATEAU, ids=[str(o) for o in PLATEAU])
def test_reduce_on_plateau_matches_torch(options):
    t_opt, v_opt = make_optimizers()
    t_sched = T_SCHED.ReduceLROnPlateau(t_opt, **options)
    v_sched = V_SCHED.ReduceLROnPlateau(v_opt, **options)
    sign = -1 if options.get("mode") == "max" else 1
    for metric in METRICS:
        assert_same_rates(t_opt, v_opt, t_sched, v_sched)
        t_opt.step()
        v_opt.step()
        t_sched.step(sign * metric)
        v_sched.step(vtorch.tensor(sign * metric, dtype=vtorch.float64))  # 0-d tensors work too
        assert (v_sched.best, v_sched.num_bad_epochs, v_sched.cooldown_counter) == (
            t_sched.best, t_sched.num_bad_epochs, t_sched.cooldown_counter)
    assert_same_rates(t_opt, v_opt, t_sched, v_sched)
    assert v_sched.get_last_lr() != [0.5, 0.2]  # the metric sequence does trigger reductions


def comparable(state: dict) -> dict:
    """A scheduler state without torch's flag for its get_lr()-outside-step() warning."""
    out = {k: v for k, v in state.items() if k != "_get_lr_called_within_step"}
    if "_schedulers" in out:
        out["_schedulers"] = [comparable(s) for s in out["_schedulers"]]
    return out


@pytest.mark.parametrize("case", list(SCHEDULES))
def test_state_dict_matches_torch_and_round_trips(case):
    t_opt, v_opt = make_optimizers()
    t_sched, v_sched = SCHEDULES[case](T_SCHED, t_opt), SCHEDULES[case](V_SCHED, v_opt)
    for _ in range(7):
        step_both(t_opt, v_opt, t_sched, v_sched)
    assert comparable(v_sched.state_dict()) == comparable(t_sched.state_dict())

    # Resume: a fresh optimizer and scheduler, then both states loaded (torch's documented order).
    _, resumed_opt = make_optimizers()
    resumed = SCHEDULES[case](V_SCHED, resumed_opt)
    resumed_opt.load_state_dict(v_opt.state_dict())
    resumed.load_state_dict(v_sched.state_dict())
    for _ in range(12):
        step_both(t_opt, v_opt, t_sched, v_sched)
        resumed_opt.step()
        resumed.step()
        assert_same_rates(t_opt, resumed_opt, t_sched, resumed)


def test_reduce_on_plateau_state_dict_matches_torch_and_round_trips():
    t_opt, v_opt = make_optimizers()
    t_sched = T_SCHED.ReduceLROnPlateau(t_opt, patience=1, cooldown=2, mode="max")
    v_sched = V_SCHED.ReduceLROnPlateau(v_opt, patience=1, cooldown=2, mode="max")
    for metric in METRICS[:12]:
        step_both(t_opt, v_opt, t_sched, v_sched, metric)
    assert comparable(v_sched.state_dict()) == comparable(t_sched.state_dict())
    _, resumed_opt = make_optimizers()
    resumed = V_SCHED.ReduceLROnPlateau(resumed_opt)
    resumed_opt.load_state_dict(v_opt.state_dict())
    resumed.load_state_dict(v_sched.state_dict())
    for metric in METRICS[12:]:
        step_both(t_opt, v_opt, t_sched, v_sched, metric)
        resumed_opt.step()
        resumed.step(metric)
        assert_same_rates(t_opt, resumed_opt, t_sched, resumed)


CLOSED_FORM = ["LambdaLR", "StepLR", "MultiStepLR", "ConstantLR-factor", "LinearLR",
               "ExponentialLR", "CosineAnnealingLR"]


@pytest.mark.parametrize("case", CLOSED_FORM)
def test_step_with_epoch_uses_closed_form_like_torch(case):
    t_opt, v_opt = make_optimizers()
    t_sched, v_sched = SCHEDULES[case](T_SCHED, t_opt), SCHEDULES[case](V_SCHED, v_opt)
    for epoch in (3, 7, 2, 12, 13, 30):
        t_opt.step()
        v_opt.step()
        with pytest.warns(UserWarning, match="epoch parameter"):
            t_sched.step(epoch)
        with pytest.warns(UserWarning, match="epoch parameter"):
            v_sched.step(epoch)
        assert_same_rates(t_opt, v_opt, t_sched, v_sched)
        step_both(t_opt, v_opt, t_sched, v_sched)  # the chainable rule continues from there
        assert_same_rates(t_opt, v_opt, t_sched, v_sched)


def test_resuming_with_last_epoch_continues_the_schedule():
    t_opt, v_opt = make_optimizers()
    t_sched, v_sched = T_SCHED.CosineAnnealingLR(t_opt, 9), V_SCHED.CosineAnnealingLR(v_opt, 9)
    for _ in range(4):
        step_both(t_opt, v_opt, t_sched, v_sched)
    t_sched = T_SCHED.CosineAnnealingLR(t_opt, T_max=9, last_epoch=4)
    v_sched = V_SCHED.CosineAnnealingLR(v_opt, T_max=9, last_epoch=4)
    for _ in range(20):
        assert_same_rates(t_opt, v_opt, t_sched, v_sched)
        step_both(t_opt, v_opt, t_sched, v_sched)


def sgd(optim):
    on_torch = optim is torch.optim
    param = torch.zeros(1, requires_grad=True) if on_torch else vtorch.nn.Parameter(vtorch.zeros(1))
    return optim.SGD([param], lr=0.1, momentum=0.9)


def adagrad(optim):
    on_torch = optim is torch.optim
    param = torch.zeros(1, requires_grad=True) if on_torch else vtorch.nn.Parameter(vtorch.zeros(1))
    return optim.Adagrad([param])


def same_error(build, error=ValueError, make=sgd, exact=True) -> str:
    """build(scheduler module, optimizer) raises the same error in torch and in vt."""
    with pytest.raises(error) as expected:
        build(T_SCHED, make(torch.optim))
    with pytest.raises(error) as got:
        build(V_SCHED, make(vtorch.optim))
    if exact:
        assert str(got.value) == str(expected.value)
    return str(got.value)


ERRORS = {
    "one-cycle-total-steps": lambda S, o: S.OneCycleLR(o, 1.0, total_steps=0),
    "one-cycle-total-steps-float": lambda S, o: S.OneCycleLR(o, 1.0, total_steps=10.0),
    "one-cycle-no-length": lambda S, o: S.OneCycleLR(o, 1.0, epochs=3),
    "one-cycle-epochs": lambda S, o: S.OneCycleLR(o, 1.0, epochs=-1, steps_per_epoch=3),
    "one-cycle-steps-per-epoch": lambda S, o: S.OneCycleLR(o, 1.0, epochs=2, steps_per_epoch=0),
    "one-cycle-pct-start": lambda S, o: S.OneCycleLR(o, 1.0, total_steps=10, pct_start=1.5),
    "one-cycle-pct-start-int": lambda S, o: S.OneCycleLR(o, 1.0, total_steps=10, pct_start=1),
    "one-cycle-anneal": lambda S, o: S.OneCycleLR(o, 1.0, total_steps=10, anneal_strategy="exp"),
    "one-cycle-max-lr-length": lambda S, o: S.OneCycleLR(o, [1.0, 2.0], total_steps=10),
    "one-cycle-momentum-length": lambda S, o: S.OneCycleLR(o, 1.0, total_steps=10,
                                                           base_momentum=[0.8, 0.9]),
    "sequential-empty": lambda S, o: S.SequentialLR(o, [], milestones=[]),
    "sequential-milestones": lambda S, o: S.SequentialLR(
        o, [S.StepLR(o, 2), S.ExponentialLR(o, 0.9)], milestones=[3, 5]),
    "sequential-plateau": lambda S, o: S.SequentialLR(
        o, [S.StepLR(o, 2), S.ReduceLROnPlateau(o)], milestones=[3]),
    "chained-empty": lambda S, o: S.ChainedScheduler([]),
    "chained-plateau": lambda S, o: S.ChainedScheduler([S.ReduceLROnPlateau(o)]),
    "plateau-factor": lambda S, o: S.ReduceLROnPlateau(o, factor=1.0),
    "plateau-mode": lambda S, o: S.ReduceLROnPlateau(o, mode="lowest"),
    "plateau-threshold-mode": lambda S, o: S.ReduceLROnPlateau(o, threshold_mode="pct"),
    "plateau-min-lr-length": lambda S, o: S.ReduceLROnPlateau(o, min_lr=[0.1, 0.2]),
    "constant-factor": lambda S, o: S.ConstantLR(o, factor=1.5),
    "linear-start": lambda S, o: S.LinearLR(o, start_factor=0.0),
    "linear-end": lambda S, o: S.LinearLR(o, end_factor=1.5),
    "lambda-count": lambda S, o: S.LambdaLR(o, [lambda e: 1.0, lambda e: 2.0]),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_errors_match_torch(case):
    same_error(ERRORS[case])


def test_one_cycle_needs_an_optimizer_with_momentum():
    message = same_error(lambda S, o: S.OneCycleLR(o, 1.0, total_steps=10), make=adagrad)
    assert "`cycle_momentum`" in message


def test_type_and_key_errors_match_torch():
    message = same_error(lambda S, o: S.StepLR(object(), 3), TypeError)
    assert message == "object is not an Optimizer"
    same_error(lambda S, o: S.OneCycleLR("sgd", 1.0, total_steps=3), TypeError)
    same_error(lambda S, o: S.ReduceLROnPlateau(None), TypeError)
    same_error(lambda S, o: S.SequentialLR(o, [S.StepLR(o, 2), "not a scheduler"], [2]), TypeError)
    message = same_error(lambda S, o: S.ExponentialLR(o, 0.9, last_epoch=3), KeyError, exact=False)
    assert "param 'initial_lr' is not specified in param_groups[0]" in message


def test_schedulers_of_another_optimizer_are_rejected():
    def build(S, o):
        other = sgd(torch.optim if S is T_SCHED else vtorch.optim)
        return S.SequentialLR(o, [S.StepLR(o, 2), S.StepLR(other, 2)], milestones=[3])

    message = same_error(build, exact=False)  # the message holds each library's optimizer repr
    assert message.startswith("SequentialLR expects all schedulers to belong to the same "
                              "optimizer, but got scheduler StepLR at index 1 has ")
    assert message.endswith("which is different from SGD.")


def test_plateau_group_added_later_needs_its_own_min_lr():
    t_opt, v_opt = make_optimizers(lrs=(0.5,))
    scheds = [T_SCHED.ReduceLROnPlateau(t_opt, patience=0, min_lr=[0.0]),
              V_SCHED.ReduceLROnPlateau(v_opt, patience=0, min_lr=[0.0])]
    t_opt.add_param_group({"params": [torch.zeros(1, requires_grad=True)]})
    v_opt.add_param_group({"params": [vtorch.nn.Parameter(vtorch.zeros(1))]})
    messages = []
    for sched in scheds:
        sched.step(1.0)
        with pytest.raises(RuntimeError) as err:
            sched.step(2.0)
        messages.append(str(err.value))
    assert messages[1] == messages[0]
    assert math.isclose(v_opt.param_groups[0]["lr"], 0.5)


TRAINING = [
    ("SGD", {"lr": 0.1, "momentum": 0.9},
     lambda S, o: S.OneCycleLR(o, max_lr=0.5, total_steps=30)),
    ("Adam", {"lr": 0.01},
     lambda S, o: S.OneCycleLR(o, max_lr=0.05, total_steps=30, three_phase=True)),
    ("RMSprop", {"lr": 0.01}, lambda S, o: S.OneCycleLR(o, max_lr=0.02, total_steps=30)),
    ("RMSprop", {"lr": 0.01, "centered": True}, warmup_then_cosine),
    ("Adagrad", {"lr": 0.1}, chain_of_three),
]


@pytest.mark.parametrize("optimizer,options,build", TRAINING,
                         ids=[f"{n}-{o}" for n, o, _ in TRAINING])
def test_scheduled_training_matches_torch(optimizer, options, build):
    """Rates and momenta set by a scheduler reach the update rule exactly as in torch."""
    g = torch.Generator().manual_seed(0)
    t_params = [torch.randn(3, 2, generator=g, dtype=torch.float64, requires_grad=True)
                for _ in range(2)]
    v_params = [vtorch.nn.Parameter(from_torch(p.detach())) for p in t_params]
    t_opt = getattr(torch.optim, optimizer)([{"params": [p]} for p in t_params], **options)
    v_opt = getattr(vtorch.optim, optimizer)([{"params": [p]} for p in v_params], **options)
    t_sched, v_sched = build(T_SCHED, t_opt), build(V_SCHED, v_opt)
    for _ in range(30):
        for tp, vp in zip(t_params, v_params):
            grad = torch.randn(tp.shape, generator=g, dtype=torch.float64)
            tp.grad, vp.grad = grad, from_torch(grad)
        step_both(t_opt, v_opt, t_sched, v_sched)
        assert_same_rates(t_opt, v_opt, t_sched, v_sched)
    for tp, vp in zip(t_params, v_params):
        assert_same(vp.detach(), tp.detach(), rtol=1e-10, atol=1e-12)
