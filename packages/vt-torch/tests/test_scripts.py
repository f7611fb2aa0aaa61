"""An ordinary PyTorch training script, run once with `torch` and once with `vt.torch` bound
to the same name, from the same initial parameters and data: the losses must agree."""

from __future__ import annotations

import numpy as np
import torch as real_torch

import vt.torch


def train_mlp(torch, init_state: dict, data: tuple, steps: int = 80) -> list[float]:
    nn = torch.nn
    model = nn.Sequential(nn.Linear(10, 32), nn.Tanh(), nn.LayerNorm(32), nn.Linear(32, 3))
    model.load_state_dict({k: torch.tensor(v) for k, v in init_state.items()})
    model = model.double()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.01)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    x_all, y_all = torch.tensor(data[0]), torch.tensor(data[1])
    losses = []
    for step in range(steps):
        i = (step * 16) % 128
        x, y = x_all[i:i + 16], y_all[i:i + 16]
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def test_mlp_script_agrees_under_both_frameworks():
    rng = np.random.default_rng(0)
    real_torch.manual_seed(0)
    reference = real_torch.nn.Sequential(real_torch.nn.Linear(10, 32), real_torch.nn.Tanh(),
                                         real_torch.nn.LayerNorm(32), real_torch.nn.Linear(32, 3))
    init_state = {k: v.detach().numpy().copy() for k, v in reference.state_dict().items()}
    data = (rng.standard_normal((128, 10)), rng.integers(0, 3, 128))
    want = train_mlp(real_torch, init_state, data)
    got = train_mlp(vt.torch, init_state, data)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-10)
    assert np.mean(got[-10:]) < np.mean(got[:10])  # it trains


def train_linear_from_loader(torch, init_state: dict, data: tuple, epochs: int = 3) -> list[float]:
    nn = torch.nn
    dataset = torch.utils.data.TensorDataset(torch.tensor(data[0]), torch.tensor(data[1]))
    loader = torch.utils.data.DataLoader(dataset, batch_size=16, shuffle=False)
    model = nn.Linear(6, 1)
    model.load_state_dict({k: torch.tensor(v) for k, v in init_state.items()})
    model = model.double()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
    losses = []
    for _ in range(epochs):
        for x, y in loader:  # 100 samples: six batches of 16 and one of 4
            loss = nn.functional.mse_loss(model(x).squeeze(-1), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    return losses


def test_dataloader_script_agrees_under_both_frameworks():
    rng = np.random.default_rng(1)
    real_torch.manual_seed(1)
    reference = real_torch.nn.Linear(6, 1)
    init_state = {k: v.detach().numpy().copy() for k, v in reference.state_dict().items()}
    x = rng.standard_normal((100, 6))
    data = (x, x @ rng.standard_normal(6) + 0.1 * rng.standard_normal(100))
    want = train_linear_from_loader(real_torch, init_state, data)
    got = train_linear_from_loader(vt.torch, init_state, data)
    assert len(got) == len(want) == 21
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    assert np.mean(got[-7:]) < np.mean(got[:7]) / 4  # it trains
