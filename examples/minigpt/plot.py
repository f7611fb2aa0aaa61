"""Plots the loss curves of the runs under <out>/<framework>/metrics.json into <out>/loss.png,
overlaying every framework that has run (vt, and torch when it was trained too)."""

from __future__ import annotations

import argparse
import json
import pathlib

import numpy as np

COLORS = {"vt": "tab:blue", "torch": "tab:orange"}


def smooth(values: list[float], weight: float = 0.9) -> np.ndarray:
    """Exponential moving average with bias correction, so the curve starts at the first loss."""
    out, avg = [], 0.0
    for i, v in enumerate(values):
        avg = weight * avg + (1 - weight) * v
        out.append(avg / (1 - weight ** (i + 1)))
    return np.array(out)


def plot(out_dir: str | pathlib.Path) -> pathlib.Path:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display needed
    import matplotlib.pyplot as plt

    out_dir = pathlib.Path(out_dir)
    runs = {p.parent.name: json.loads(p.read_text()) for p in sorted(out_dir.glob("*/metrics.json"))}
    if not runs:
        raise FileNotFoundError(f"no */metrics.json under {out_dir}")
    fig, (ax_loss, ax_rate) = plt.subplots(1, 2, figsize=(12, 4.5), gridspec_kw={"width_ratios": [2, 1]})
    for name, m in runs.items():
        color = COLORS.get(name)
        ax_loss.plot(m["step"], m["loss"], color=color, alpha=0.25, linewidth=0.8)
        ax_loss.plot(m["step"], smooth(m["loss"]), color=color, label=f"{name} train (smoothed)")
        ax_loss.plot(m["eval_step"], m["val_loss"], "o--", color=color, markersize=4, label=f"{name} validation")
        rates = m["tokens_per_s"][len(m["tokens_per_s"]) // 10:]
        ax_rate.bar(name, float(np.mean(rates)), color=color)
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("cross-entropy (nats per byte)")
    ax_loss.set_title("miniGPT, byte-level")
    ax_loss.legend()
    ax_loss.grid(alpha=0.3)
    ax_rate.set_ylabel("tokens / s (training)")
    ax_rate.set_title("throughput")
    fig.tight_layout()
    path = out_dir / "loss.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="runs/minigpt")
    print(f"plot: {plot(parser.parse_args().out)}")


if __name__ == "__main__":
    main()
