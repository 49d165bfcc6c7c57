"""Checkpoint keeping and EMA as timm and torchvision publish them."""
from __future__ import annotations

import json

import numpy as np
import pytest

import training_helpers
import mindspore as ms
from mindspore import nn

from mm_train.ema import Ema
from mm_train.errors import ConfigError


def test_keep_checkpoint_max_zero_keeps_every_checkpoint(tmp_path):
    training_helpers.train(tmp_path, "train.epochs=4",
                           "callbacks=[{type: ModelCheckpoint, save_checkpoint_epochs: 1, keep_checkpoint_max: 0}]")
    names = sorted(p.name for p in (tmp_path / "checkpoints").glob("*.ckpt"))
    assert names == [f"quickstart-{e}_4.ckpt" for e in (1, 2, 3, 4)]


def test_keep_best_k_keeps_the_k_best_evaluations(tmp_path):
    training_helpers.train(tmp_path, "train.epochs=4", "callbacks=[{type: ModelCheckpoint, save_checkpoint_epochs: 1, "
                           "keep_checkpoint_max: 1, keep_best_by: loss, keep_best_k: 2}]")
    history = json.loads((tmp_path / "metrics.json").read_text())["history"]
    best_two = sorted(history, key=lambda e: e["loss"])[:2]
    kept = json.loads((tmp_path / "checkpoints" / "quickstart-best-k.json").read_text())
    assert [e["epoch"] for e in kept] == [e["epoch"] for e in best_two]
    files = sorted(p.name for p in (tmp_path / "checkpoints").glob("quickstart-best-*.ckpt"))
    assert files == sorted(f"quickstart-best-{e['epoch']}.ckpt" for e in best_two)
    assert (tmp_path / "checkpoints" / "quickstart-best.ckpt").is_file()


def test_keep_best_k_needs_a_metric(tmp_path):
    with pytest.raises(ConfigError, match="keep_best_k: got 3 without keep_best_by"):
        training_helpers.train(tmp_path, "callbacks=[{type: ModelCheckpoint, keep_best_k: 3}]")


def reference_ema(values, decay, every, warmup):
    """torchvision (update every N steps) / timm ModelEmaV3 (decay min(d, (1 + t) / (10 + t))) by hand."""
    average, updates = values[0], 0
    out = []
    for step, value in enumerate(values[1:], start=1):
        if step % every == 0:
            d = min(decay, (1 + updates) / (10 + updates)) if warmup else decay
            average = d * average + (1 - d) * value
            updates += 1
        out.append(average)
    return out


@pytest.mark.parametrize("every,warmup", [(1, False), (3, False), (1, True), (4, True)])
def test_ema_updates_every_n_steps_with_warm_up(every, warmup):
    network = nn.Dense(1, 1, weight_init="zeros", bias_init="zeros")
    ema = Ema(network, 0.9, every, warmup)
    values = [0.0] + [float(v) for v in np.linspace(1.0, 12.0, 12)]
    got = []
    for value in values[1:]:
        network.weight.set_data(ms.Tensor([[value]], ms.float32))   # the optimizer step
        ema()
        got.append(float(ema.averages[0].asnumpy().ravel()[0]))
    np.testing.assert_allclose(got, reference_ema(values, 0.9, every, warmup), rtol=1e-5, atol=1e-6)


def test_eval_reports_the_ema_and_the_raw_weights(tmp_path):
    training_helpers.train(tmp_path, "train.ema_decay=0.9", "train.ema_every=2", "train.ema_warmup=true")
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert set(metrics["final"]) == {"acc", "loss", "raw_acc", "raw_loss"}
    assert metrics["weights"] == "ema" and metrics["ema_every"] == 2 and metrics["ema_warmup"] is True
    assert all({"raw_acc", "acc"} <= set(e) for e in metrics["history"])
