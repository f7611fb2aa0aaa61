"""The examples/ training scripts: each trains for 100+ steps under vt.torch and under PyTorch
from the same initial weights and batches (float64), and the loss curves must agree step for
step; each also runs its command line end to end for a few steps."""

from __future__ import annotations

import importlib.util
import json
import pathlib
import sys

import numpy as np
import pytest
import torch

EXAMPLES = pathlib.Path(__file__).resolve().parents[3] / "examples"


def load_example(relative: str, name: str):
    path = EXAMPLES / relative
    sys.path.insert(0, str(path.parent))  # the example's sibling modules (gpt.py, corpus.py)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


minigpt = load_example("minigpt/train.py", "example_minigpt")
reversal = load_example("sequence_reversal/train.py", "example_sequence_reversal")
vit = load_example("vit_cifar10/train.py", "example_vit_cifar10")
plot = load_example("minigpt/plot.py", "example_minigpt_plot")


def torch_initial_state(build, cfg) -> dict:
    torch.manual_seed(cfg.seed)
    return {k: v.detach().numpy().copy() for k, v in build(torch, cfg).state_dict().items()}


def assert_same_curve(got: list[float], want: list[float], rtol: float = 1e-7) -> None:
    np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-9)
    assert np.mean(got[-10:]) < 0.8 * np.mean(got[:10])  # and it learns


def test_minigpt_tracks_torch_for_120_steps():
    gpt_cfg = minigpt.GPTConfig(block_size=16, n_layer=2, n_head=2, n_embd=32)
    cfg = minigpt.TrainConfig(steps=120, batch_size=8, warmup=10, eval_interval=40, eval_batches=2,
                              dtype="float64")
    text = minigpt.corpus.stdlib_corpus()[:60000]
    torch.manual_seed(0)
    state = {k: v.detach().numpy().copy() for k, v in minigpt.build(torch, gpt_cfg).state_dict().items()}
    _, want = minigpt.train("torch", gpt_cfg, cfg, text, init_state=state, progress=False)
    _, got = minigpt.train("vt", gpt_cfg, cfg, text, init_state=state, progress=False)
    assert_same_curve(got["loss"], want["loss"])
    np.testing.assert_allclose(got["val_loss"], want["val_loss"], rtol=1e-7)
    np.testing.assert_allclose(got["lr"], want["lr"], rtol=1e-12)


def test_sequence_reversal_tracks_torch_for_150_steps():
    cfg = reversal.Config(length=5, vocab=10, d_model=32, n_head=2, steps=150, batch_size=16, optimizer="adam",
                          lr=3e-3, dtype="float64")
    state = torch_initial_state(reversal.build, cfg)
    _, want = reversal.train("torch", cfg, init_state=state, progress=False)
    _, got = reversal.train("vt", cfg, init_state=state, progress=False)
    assert_same_curve(got["loss"], want["loss"])
    assert got["accuracy"] == want["accuracy"]


@pytest.fixture(scope="module")
def cifar_folder(tmp_path_factory):
    """A few generated images in the CIFAR-10 binary format (brightness encodes the class)."""
    folder = tmp_path_factory.mktemp("cifar-10-batches-bin")
    rng = np.random.default_rng(0)
    for name in vit.TRAIN_FILES[:2] + [vit.TEST_FILE]:
        labels = rng.integers(0, 10, 40)
        images = (rng.random((40, 3, 32, 32)) * 60 + labels[:, None, None, None] * 19).astype(np.uint8)
        vit.write_batch_file(folder / name, images, labels)
    return folder


def test_vit_reads_the_cifar_format_and_tracks_torch_for_100_steps(cifar_folder):
    images, labels = vit.read_split(cifar_folder, train=True)
    assert images.shape == (80, 3, 32, 32) and labels.shape == (80,)
    raw = (cifar_folder / "data_batch_1.bin").read_bytes()
    assert images[0, 2, 31, 31] == raw[vit.RECORD - 1] and labels[0] == raw[0]
    cfg = vit.Config(patch=8, dim=32, depth=2, heads=2, mlp_ratio=2, class_tokens=2, steps=100, batch_size=8,
                     dtype="float64")
    state = torch_initial_state(vit.build, cfg)
    test_set = vit.read_split(cifar_folder, train=False)
    _, want = vit.train("torch", cfg, (images, labels), test_set, init_state=state, progress=False)
    _, got = vit.train("vt", cfg, (images, labels), test_set, init_state=state, progress=False)
    assert_same_curve(got["loss"], want["loss"])
    assert got["test_accuracy"] == want["test_accuracy"]


def test_cifar_reader_rejects_files_of_another_format(tmp_path):
    (tmp_path / "data_batch_1.bin").write_bytes(b"\x00" * 100)
    with pytest.raises(ValueError, match="whole number"):
        vit.read_split(tmp_path, train=True)
    (tmp_path / "data_batch_1.bin").write_bytes(b"\x0c" + b"\x00" * (vit.RECORD - 1))
    with pytest.raises(ValueError, match="out of range"):
        vit.read_split(tmp_path, train=True)
    with pytest.raises(FileNotFoundError):
        vit.read_split(tmp_path / "missing", train=False)


def test_minigpt_command_line_writes_checkpoint_metrics_sample_and_plot(tmp_path, capsys):
    common = ["--out", str(tmp_path), "--steps", "4", "--eval-interval", "2", "--n-layer", "1", "--n-embd", "32",
              "--block-size", "16", "--batch-size", "4", "--sample-tokens", "20", "--device", "cpu"]
    minigpt.main(["--framework", "vt", *common])
    minigpt.main(["--framework", "torch", *common])
    for framework in ("vt", "torch"):
        run = tmp_path / framework
        metrics = json.loads((run / "metrics.json").read_text())
        assert len(metrics["loss"]) == 4 and metrics["eval_step"] == [0, 2, 3]
        assert len((run / "sample.txt").read_text()) > 0
    # The vt checkpoint is a safetensors file with the tied embedding written once.
    import safetensors.torch

    weights = safetensors.torch.load_file(str(tmp_path / "vt" / "ckpt.safetensors"))
    assert "wte.weight" in weights and "head.weight" not in weights
    png = plot.plot(tmp_path)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out = capsys.readouterr().out
    assert "final loss" in out and "--- sample ---" in out


def test_example_command_lines_run(tmp_path, cifar_folder, capsys):
    reversal.main(["--steps", "3", "--length", "3", "--d-model", "16", "--n-head", "2", "--device", "cpu"])
    with pytest.raises(ValueError, match="unknown optimizer"):
        reversal.main(["--steps", "1", "--length", "2", "--d-model", "8", "--n-head", "2", "--optimizer", "lbfgs"])
    vit.main(["--data", str(cifar_folder), "--steps", "3", "--dim", "16", "--depth", "1", "--heads", "2",
              "--patch", "8", "--device", "cpu"])
    out = capsys.readouterr().out
    assert "exact-match reversal accuracy" in out and "test accuracy" in out
