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


def initial_state(build) -> dict:
    real_torch.manual_seed(2)
    return {k: v.detach().numpy().copy() for k, v in build(real_torch).state_dict().items()}


def build_cnn(torch):
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 8, 3, stride=2, padding=1), nn.GELU(), nn.AdaptiveAvgPool2d(1),
        nn.Flatten(), nn.Linear(8, 3))


def train_cnn(torch, init_state: dict, data: tuple, steps: int = 40) -> list[float]:
    model = build_cnn(torch)
    model.load_state_dict({k: torch.tensor(v) for k, v in init_state.items()})
    model = model.double()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    schedule = torch.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)
    images, labels = torch.tensor(data[0]), torch.tensor(data[1])
    losses = []
    for step in range(steps):
        i = (step * 8) % 64
        loss = torch.nn.functional.cross_entropy(model(images[i:i + 8]), labels[i:i + 8])
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        opt.step()
        schedule.step()
        losses.append(loss.item())
    return losses


def test_cnn_script_agrees_under_both_frameworks():
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 3, 64)
    images = rng.standard_normal((64, 1, 12, 12)) + labels[:, None, None, None]
    init_state = initial_state(build_cnn)
    want = train_cnn(real_torch, init_state, (images, labels))
    got = train_cnn(vt.torch, init_state, (images, labels))
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    assert np.mean(got[-8:]) < np.mean(got[:8])


def build_transformer(torch):
    nn = torch.nn

    class Tiny(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(20, 16)
            self.block = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=True)
            self.norm = nn.RMSNorm(16)
            self.out = nn.Linear(16, 20)

        def forward(self, tokens):
            return self.out(self.norm(self.block(self.embed(tokens), is_causal=False)))

    return Tiny()


def train_transformer(torch, init_state: dict, tokens, steps: int = 30) -> list[float]:
    model = build_transformer(torch)
    model.load_state_dict({k: torch.tensor(v) for k, v in init_state.items()})
    model = model.double()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.01)
    data = torch.tensor(tokens)
    losses = []
    for step in range(steps):
        x = data[(step % 4) * 4:(step % 4) * 4 + 4]
        logits = model(x[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 20), x[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def test_transformer_block_script_agrees_under_both_frameworks():
    tokens = np.random.default_rng(3).integers(0, 20, (16, 9))
    init_state = initial_state(build_transformer)
    want = train_transformer(real_torch, init_state, tokens)
    got = train_transformer(vt.torch, init_state, tokens)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    assert got[-1] < got[0]


def save_and_reload(torch, init_state: dict, path) -> tuple[list, list]:
    model = build_cnn(torch)
    model.load_state_dict({k: torch.tensor(v) for k, v in init_state.items()})
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = torch.ones(2, 1, 12, 12)
    model(x).sum().backward()
    opt.step()
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}, path)
    checkpoint = torch.load(path)
    restored = build_cnn(torch)
    restored.load_state_dict(checkpoint["model"])
    opt2 = torch.optim.SGD(restored.parameters(), lr=0.1, momentum=0.9)
    opt2.load_state_dict(checkpoint["optimizer"])
    restored(x).sum().backward()
    opt2.step()
    with torch.no_grad():
        return restored(x).tolist(), [checkpoint["epoch"], sorted(checkpoint["model"])]


def test_save_load_script_agrees_under_both_frameworks(tmp_path):
    init_state = initial_state(build_cnn)
    want = save_and_reload(real_torch, init_state, tmp_path / "torch.pt")
    got = save_and_reload(vt.torch, init_state, tmp_path / "vt.pt")
    np.testing.assert_allclose(got[0], want[0], rtol=1e-5, atol=1e-6)
    assert got[1] == want[1]
