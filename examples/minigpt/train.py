"""Trains the GPT of gpt.py on a byte-level corpus with vt.torch (default) or real PyTorch.

    python examples/minigpt/train.py                      # vt, built-in corpus, ./runs/minigpt/vt
    python examples/minigpt/train.py --framework torch    # the same script under PyTorch
    python examples/minigpt/train.py --data book.txt --steps 2000

The defaults fit a few minutes on two CPU cores (6 layers, width 128, 64-token context). The
reference miniGPT workload is GPU-sized: --n-embd 256 --n-head 8 --block-size 128 --batch-size 64.

Writes <out>/<framework>/: ckpt.safetensors (the model's weights, tied embedding once),
metrics.json (losses, learning rates, throughput) and sample.txt (text generated at the end).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import pathlib
import sys
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]
import corpus
from framework import FRAMEWORKS, Progress, load_framework, pick_device
from gpt import GPTConfig, build


@dataclasses.dataclass
class TrainConfig:
    steps: int = 600
    batch_size: int = 16
    lr: float = 3e-3
    min_lr: float = 3e-4
    warmup: int = 50
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    eval_interval: int = 100
    eval_batches: int = 8
    seed: int = 0
    dtype: str = "float32"


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warmup, then cosine decay to min_lr: the multiplier LambdaLR applies to cfg.lr."""
    if step < cfg.warmup:
        return (step + 1) / cfg.warmup
    progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return (cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * min(progress, 1.0)))) / cfg.lr


def make_optimizer(torch, model, cfg: TrainConfig):
    # Weight decay on matrices only, as GPT-2 does; biases, norms and embeddings' positions are
    # left alone (the tied token embedding is a matrix and decays once).
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.95))
    return opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda step: lr_at(step, cfg))


def evaluate(torch, model, val: np.ndarray, cfg: TrainConfig, block_size: int, device) -> float:
    rng = np.random.default_rng(cfg.seed + 1)  # the same validation windows at every evaluation
    model.eval()
    total = 0.0
    with torch.no_grad():
        for _ in range(cfg.eval_batches):
            x, y = corpus.batch(val, cfg.batch_size, block_size, rng)
            _, loss = model(torch.from_numpy(x).to(device), torch.from_numpy(y).to(device))
            total += loss.item()
    model.train()
    return total / cfg.eval_batches


def train(framework: str, model_cfg: GPTConfig, cfg: TrainConfig, text: bytes, device: str = "cpu",
          init_state: dict | None = None, progress: bool = True) -> tuple[object, dict]:
    """Trains and returns (model, metrics). init_state (name -> numpy array) replaces the random
    initialization, so two frameworks can start from the same weights."""
    torch, _ = load_framework(framework)
    torch.manual_seed(cfg.seed)
    model = build(torch, model_cfg)
    if init_state is not None:
        model.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in init_state.items()})
    model = model.to(device=device, dtype=getattr(torch, cfg.dtype))
    opt, schedule = make_optimizer(torch, model, cfg)
    train_data, val_data = corpus.split(text)
    rng = np.random.default_rng(cfg.seed)
    metrics = {"framework": framework, "config": dataclasses.asdict(cfg), "model": dataclasses.asdict(model_cfg),
               "step": [], "loss": [], "lr": [], "tokens_per_s": [], "eval_step": [], "val_loss": []}
    progress_bar = Progress(progress, cfg.steps, f"{framework} {device}")
    tokens_per_step = cfg.batch_size * model_cfg.block_size
    start = time.perf_counter()
    for step in range(cfg.steps):
        if step % cfg.eval_interval == 0 or step == cfg.steps - 1:
            metrics["eval_step"].append(step)
            metrics["val_loss"].append(evaluate(torch, model, val_data, cfg, model_cfg.block_size, device))
        x, y = corpus.batch(train_data, cfg.batch_size, model_cfg.block_size, rng)
        t0 = time.perf_counter()
        _, loss = model(torch.from_numpy(x).to(device), torch.from_numpy(y).to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        schedule.step()
        value = loss.item()  # waits for the step, so the throughput below is honest
        rate = tokens_per_step / (time.perf_counter() - t0)
        metrics["step"].append(step)
        metrics["loss"].append(value)
        metrics["lr"].append(opt.param_groups[0]["lr"])
        metrics["tokens_per_s"].append(rate)
        progress_bar.step(loss=f"{value:.3f}", tok_s=f"{rate:,.0f}")
    progress_bar.close()
    metrics["seconds"] = time.perf_counter() - start
    return model, metrics


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--framework", choices=FRAMEWORKS, default="vt")
    parser.add_argument("--data", help="a text file (default: modules of Python's standard library)")
    parser.add_argument("--out", default="runs/minigpt")
    parser.add_argument("--device", default="auto", help="cpu, cuda or auto (cuda when available)")
    parser.add_argument("--sample-tokens", type=int, default=400)
    for f in dataclasses.fields(GPTConfig):
        parser.add_argument("--" + f.name.replace("_", "-"), type=type(f.default), default=f.default)
    for f in dataclasses.fields(TrainConfig):
        parser.add_argument("--" + f.name.replace("_", "-"), type=type(f.default), default=f.default)
    args = parser.parse_args(argv)
    model_cfg = GPTConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(GPTConfig)})
    cfg = TrainConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)})

    torch, safetensors = load_framework(args.framework)
    device = pick_device(torch, args.device)
    text = corpus.load_corpus(args.data)
    source = args.data or "Python standard library (" + ", ".join(corpus.STDLIB_CORPUS) + ")"
    print(f"{args.framework}: {len(text):,} bytes of {source}; {cfg.steps} steps of "
          f"{cfg.batch_size}x{model_cfg.block_size} tokens on {device}")
    model, metrics = train(args.framework, model_cfg, cfg, text, device)
    n_params = sum(p.numel() for p in model.parameters())

    out = pathlib.Path(args.out) / args.framework
    out.mkdir(parents=True, exist_ok=True)
    safetensors.save_model(model, str(out / "ckpt.safetensors"), metadata={"framework": args.framework})
    prompt = torch.from_numpy(np.frombuffer(b"def ", dtype=np.uint8).astype(np.int64)[None, :]).to(device)
    generator = torch.Generator().manual_seed(cfg.seed) if device == "cpu" else None
    model.eval()
    sample = corpus.decode(model.generate(prompt, args.sample_tokens, temperature=0.8, top_k=40,
                                        generator=generator)[0].tolist())
    (out / "sample.txt").write_text(sample)
    metrics["parameters"] = n_params
    (out / "metrics.json").write_text(json.dumps(metrics))
    mean_rate = float(np.mean(metrics["tokens_per_s"][len(metrics["tokens_per_s"]) // 10:]))
    print(f"{args.framework}: {n_params:,} parameters, final loss {metrics['loss'][-1]:.3f}, validation loss "
          f"{metrics['val_loss'][-1]:.3f}, {mean_rate:,.0f} tokens/s, {metrics['seconds']:.0f} s")
    print(f"checkpoint: {out / 'ckpt.safetensors'}\n--- sample ---\n{sample}\n--------------")


if __name__ == "__main__":
    main()
