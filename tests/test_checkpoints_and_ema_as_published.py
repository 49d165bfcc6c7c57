"""Checkpoint keeping and EMA as timm and torchvision publish them."""
from __future__ import annotations

import json

import numpy as np
import pytest

import training_helpers
import mindspore as ms
from mindspore import nn

from mm_train.learning.ema import Ema
from mm_train.core.errors import ConfigError


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


def torchvision_reset_ema(values, decay, every, warmup_steps):
    """torchvision's AveragedModel during warm-up by hand: update_parameters copies while n_averaged == 0,
    and train.py sets n_averaged to 0 after every update made in a warm-up epoch."""
    average, n_averaged, out = values[0], 0, []
    for step, value in enumerate(values[1:], start=1):
        if step % every == 0:
            average = value if n_averaged == 0 else decay * average + (1 - decay) * value
            n_averaged = 0 if step <= warmup_steps else n_averaged + 1
        out.append(average)
    return out


@pytest.mark.parametrize("every", [1, 2])
def test_ema_reset_during_warmup_copies_the_weights_each_warmup_epoch_then_averages(every):
    from mm_train.learning.amp import LossScale
    from mm_train.learning.train_step import build_train_network

    class Sum(nn.Cell):          # loss = sum(x @ w): SGD moves the weight by the same amount every step
        def construct(self, logits, label):
            return logits.sum()

    steps_per_epoch, warmup_epochs, decay = 4, 2, 0.5
    network = nn.Dense(1, 1, has_bias=False, weight_init="zeros")
    step = build_train_network(network, Sum(), nn.SGD(network.trainable_params(), 1.0), LossScale(),
                               ema_decay=decay, ema_every=every, ema_copy_steps=warmup_epochs * steps_per_epoch)
    raw, averaged = [0.0], []
    for _ in range(4 * steps_per_epoch):
        step(ms.Tensor([[-1.0]], ms.float32), ms.Tensor(np.zeros(1, np.int32)))
        raw.append(float(network.weight.asnumpy().ravel()[0]))
        averaged.append(float(step.ema.averages[0].asnumpy().ravel()[0]))
    for epoch in range(warmup_epochs):   # the end of each warm-up epoch: the EMA is the weights
        end = (epoch + 1) * steps_per_epoch
        assert averaged[end - 1] == raw[end]
    np.testing.assert_allclose(averaged, torchvision_reset_ema(raw, decay, every, warmup_epochs * steps_per_epoch),
                               rtol=0, atol=1e-6)
    assert raw[-1] - averaged[-1] > 0.9   # after the warm-up it averages: it lags the weights


def test_ema_reset_during_warmup_takes_its_steps_from_the_lr_warmup_and_needs_one():
    from mm_train.learning.train_step import ema_copy_steps
    config = {"train": {"ema_decay": 0.99, "ema_reset_during_warmup": True},
              "lr_schedule": {"type": "cosine", "warmup_epochs": 5}}
    assert ema_copy_steps(config, 7) == 35
    assert ema_copy_steps({**config, "train": {"ema_decay": 0.99}}, 7) == 0
    with pytest.raises(ConfigError) as err:
        ema_copy_steps({**config, "lr_schedule": {"type": "cosine"}}, 7)
    assert str(err.value).startswith("train.ema_reset_during_warmup: is true, but lr_schedule.warmup_epochs is 0")


def test_a_run_whose_warmup_covers_every_epoch_evaluates_an_ema_equal_to_the_raw_weights(tmp_path):
    training_helpers.train(tmp_path, "train.ema_decay=0.9", "train.ema_reset_during_warmup=true",
                           "lr_schedule.warmup_epochs=2")   # train.epochs=2: every update is in the warm-up
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["ema_reset_during_warmup"] is True
    assert metrics["final"]["loss"] == metrics["final"]["raw_loss"]
