"""A Vision Transformer trained on CIFAR-10 under vt.torch or PyTorch.

Reads the standard CIFAR-10 binary distribution (the folder `cifar-10-batches-bin` with
data_batch_1.bin ... data_batch_5.bin and test_batch.bin; each record is one label byte and
3072 pixel bytes, the red, green and blue 32x32 planes). There is no download: pass the folder.

    python examples/vit_cifar10/train.py --data /path/to/cifar-10-batches-bin [--framework torch]
"""

from __future__ import annotations

import argparse
import dataclasses
import pathlib
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from framework import FRAMEWORKS, Progress, load_framework, pick_device

RECORD = 1 + 3 * 32 * 32
TRAIN_FILES = [f"data_batch_{i}.bin" for i in range(1, 6)]
TEST_FILE = "test_batch.bin"
# Per-channel statistics of the CIFAR-10 training set, for normalization.
MEAN = np.array([0.4914, 0.4822, 0.4465], dtype=np.float32)[:, None, None]
STD = np.array([0.2470, 0.2435, 0.2616], dtype=np.float32)[:, None, None]


def read_batch_file(path: pathlib.Path) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (n, 3, 32, 32), labels int64 (n,)) of one CIFAR-10 binary file."""
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0 or raw.size % RECORD:
        raise ValueError(f"{path}: {raw.size} bytes is not a whole number of {RECORD}-byte CIFAR-10 records")
    records = raw.reshape(-1, RECORD)
    labels = records[:, 0].astype(np.int64)
    if labels.max() > 9:
        raise ValueError(f"{path}: label {labels.max()} out of range 0..9 (not a CIFAR-10 file?)")
    return records[:, 1:].reshape(-1, 3, 32, 32), labels


def read_split(folder: str | pathlib.Path, train: bool) -> tuple[np.ndarray, np.ndarray]:
    folder = pathlib.Path(folder)
    names = [n for n in TRAIN_FILES if (folder / n).exists()] if train else [TEST_FILE]
    if not names or not all((folder / n).exists() for n in names):
        raise FileNotFoundError(f"{folder}: no CIFAR-10 {'training' if train else 'test'} files "
                                f"({', '.join(TRAIN_FILES if train else [TEST_FILE])})")
    parts = [read_batch_file(folder / n) for n in names]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def write_batch_file(path: str | pathlib.Path, images: np.ndarray, labels: np.ndarray) -> None:
    """Writes images (n, 3, 32, 32) uint8 and labels in the CIFAR-10 binary format."""
    records = np.concatenate([labels.astype(np.uint8)[:, None], images.reshape(len(images), -1)], axis=1)
    records.astype(np.uint8).tofile(path)


def normalize(images: np.ndarray, flip: np.ndarray | None = None) -> np.ndarray:
    x = (images.astype(np.float32) / 255.0 - MEAN) / STD
    if flip is not None:
        x[flip] = x[flip][..., ::-1]  # horizontal flips, the usual CIFAR augmentation
    return x


@dataclasses.dataclass
class Config:
    """Defaults: the reference ViT workload (patch 4, dim 256, depth 6, 8 heads, MLP 1024, 16
    class tokens, batch 256, AdamW)."""
    patch: int = 4
    dim: int = 256
    depth: int = 6
    heads: int = 8
    mlp_ratio: int = 4
    class_tokens: int = 16  # learned tokens prepended to the patches; the head reads their mean
    steps: int = 500
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.05
    seed: int = 0
    dtype: str = "float32"


def build(torch, cfg: Config):
    nn = torch.nn
    n_patches = (32 // cfg.patch) ** 2

    class ViT(nn.Module):
        def __init__(self):
            super().__init__()
            self.patchify = nn.Conv2d(3, cfg.dim, kernel_size=cfg.patch, stride=cfg.patch)
            self.cls = nn.Parameter(torch.randn(1, cfg.class_tokens, cfg.dim) * 0.02)
            self.pos = nn.Parameter(torch.randn(1, n_patches + cfg.class_tokens, cfg.dim) * 0.02)
            layer = nn.TransformerEncoderLayer(cfg.dim, cfg.heads, cfg.mlp_ratio * cfg.dim, dropout=0.0,
                                               activation="gelu", batch_first=True, norm_first=True)
            self.encoder = nn.TransformerEncoder(layer, cfg.depth, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(cfg.dim)
            self.head = nn.Linear(cfg.dim, 10)

        def forward(self, images):
            x = self.patchify(images).flatten(2).transpose(1, 2)  # (batch, patches, dim)
            x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1) + self.pos
            return self.head(self.norm(self.encoder(x))[:, :cfg.class_tokens].mean(dim=1))

    return ViT()


def evaluate(torch, model, images, labels, device, dtype=np.float32, batch_size: int = 256) -> float:
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(images), batch_size):
            x = torch.from_numpy(normalize(images[i:i + batch_size]).astype(dtype)).to(device)
            pred = model(x).argmax(dim=-1).cpu().numpy()
            correct += int((pred == labels[i:i + batch_size]).sum())
    model.train()
    return correct / len(images)


def train(framework: str, cfg: Config, train_set, test_set=None, device: str = "cpu",
          init_state: dict | None = None, progress: bool = True) -> tuple[object, dict]:
    torch, _ = load_framework(framework)
    torch.manual_seed(cfg.seed)
    model = build(torch, cfg)
    if init_state is not None:
        model.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in init_state.items()})
    model = model.to(device=device, dtype=getattr(torch, cfg.dtype))
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.steps)
    images, labels = train_set
    rng = np.random.default_rng(cfg.seed)
    dtype = np.float64 if cfg.dtype == "float64" else np.float32
    losses = []
    progress_bar = Progress(progress, cfg.steps, f"{framework} {device}")
    start = time.perf_counter()
    for _ in range(cfg.steps):
        idx = rng.integers(0, len(images), cfg.batch_size)
        x = normalize(images[idx], flip=rng.random(cfg.batch_size) < 0.5).astype(dtype)
        logits = model(torch.from_numpy(np.ascontiguousarray(x)).to(device))
        loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(labels[idx]).to(device))
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
        losses.append(loss.item())
        progress_bar.step(loss=f"{losses[-1]:.3f}")
    progress_bar.close()
    metrics = {"loss": losses, "seconds": time.perf_counter() - start}
    if test_set is not None:
        metrics["test_accuracy"] = evaluate(torch, model, *test_set, device, dtype)
    return model, metrics


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="the cifar-10-batches-bin folder")
    parser.add_argument("--framework", choices=FRAMEWORKS, default="vt")
    parser.add_argument("--device", default="auto")
    for f in dataclasses.fields(Config):
        parser.add_argument("--" + f.name.replace("_", "-"), type=type(f.default), default=f.default)
    args = parser.parse_args(argv)
    cfg = Config(**{f.name: getattr(args, f.name) for f in dataclasses.fields(Config)})
    torch, _ = load_framework(args.framework)
    train_set, test_set = read_split(args.data, train=True), read_split(args.data, train=False)
    print(f"{args.framework}: {len(train_set[1]):,} training and {len(test_set[1]):,} test images")
    _, metrics = train(args.framework, cfg, train_set, test_set, pick_device(torch, args.device))
    print(f"{args.framework}: final loss {metrics['loss'][-1]:.4f}, test accuracy {metrics['test_accuracy']:.1%}, "
          f"{metrics['seconds']:.0f} s")


if __name__ == "__main__":
    main()
