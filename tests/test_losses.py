"""Losses by name: values against NumPy, and training with soft (one-hot / mixed) float labels."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from mm_train.core.errors import ConfigError
from training_helpers import compose, replace

LOGITS = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0], [-0.5, 1.5, 0.0], [1.0, 1.0, 1.0]], np.float32)
LABELS = np.array([0, 2, 1, 0], np.int32)
SOFT = np.array([[0.7, 0.3, 0.0], [0.0, 0.0, 1.0], [0.2, 0.8, 0.0], [1.0, 0.0, 0.0]], np.float32)


def log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def onehot(labels):
    return np.eye(3, dtype=np.float32)[labels]


def reference(name, y, args):
    """The per-batch loss a user expects (PyTorch's definitions), ``y`` dense float labels."""
    if name == "SoftmaxCrossEntropyWithLogits":
        return -(y * log_softmax(LOGITS)).sum(-1).mean()
    if name == "CrossEntropyLoss":
        s = args.get("label_smoothing", 0.0)
        return -((y * (1 - s) + s / 3) * log_softmax(LOGITS)).sum(-1).mean()
    if name == "BCEWithLogitsLoss":
        p = 1 / (1 + np.exp(-LOGITS))
        return -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean()
    if name == "MSELoss":
        return ((LOGITS - y) ** 2).mean()
    if name == "L1Loss":
        return np.abs(LOGITS - y).mean()
    if name == "FocalLoss":
        lp = log_softmax(LOGITS)
        return (-(y * (1 - np.exp(lp)) ** args.get("gamma", 2.0) * lp).sum(-1)).mean()
    raise KeyError(name)


LOSSES = [("SoftmaxCrossEntropyWithLogits", {"sparse": False}), ("CrossEntropyLoss", {"label_smoothing": 0.1}),
          ("BCEWithLogitsLoss", {}), ("MSELoss", {}), ("L1Loss", {}), ("FocalLoss", {"gamma": 2.0})]


@pytest.mark.parametrize("name,args", LOSSES, ids=[n for n, _ in LOSSES])
def test_loss_values_for_class_indices_and_soft_labels(name, args):
    import mindspore as ms

    from mm_train.learning import losses  # noqa: F401
    from mm_train.registry import LOSSES as REGISTRY

    loss = REGISTRY.build({"type": name, **args}, "loss")
    got_hard = float(loss(ms.Tensor(LOGITS), ms.Tensor(LABELS)).asnumpy())
    got_soft = float(loss(ms.Tensor(LOGITS), ms.Tensor(SOFT)).asnumpy())
    assert got_hard == pytest.approx(reference(name, onehot(LABELS), args), rel=1e-5)
    assert got_soft == pytest.approx(reference(name, SOFT, args), rel=1e-5)


def test_sparse_softmax_cross_entropy_and_reductions():
    import mindspore as ms

    from mm_train.registry import LOSSES as REGISTRY
    from mm_train.learning import losses  # noqa: F401

    per_sample = -(onehot(LABELS) * log_softmax(LOGITS)).sum(-1)
    for reduction, want in (("mean", per_sample.mean()), ("sum", per_sample.sum()), ("none", per_sample)):
        loss = REGISTRY.build({"type": "SoftmaxCrossEntropyWithLogits", "sparse": True, "reduction": reduction},
                              "loss")
        np.testing.assert_allclose(loss(ms.Tensor(LOGITS), ms.Tensor(LABELS)).asnumpy(), want, rtol=1e-5)
    with pytest.raises(ConfigError, match=r"loss.reduction: got 'meen'.*Did you mean 'mean'"):
        REGISTRY.build({"type": "CrossEntropyLoss", "reduction": "meen"}, "loss")
    with pytest.raises(ConfigError, match=r"loss.type: unknown loss 'FocalLos'.*'FocalLoss'"):
        REGISTRY.build({"type": "FocalLos"}, "loss")


def soft_label_data(split, n=64):
    """Digits-shaped images (class c: a bright row c % 8 in channel c // 8) with MixUp-style float
    labels (two classes mixed 0.7/0.3); the eval split is the same images, to see the fit improve."""
    import mindspore.dataset as ds
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, n)
    images = rng.normal(scale=0.2, size=(n, 3, 8, 8)).astype(np.float32)
    images[np.arange(n), labels // 8, labels % 8, :] += 2.0
    mixed = (0.7 * np.eye(10)[labels] + 0.3 * np.eye(10)[np.roll(labels, 1)]).astype(np.float32)
    data = ds.NumpySlicesDataset({"image": images, "label": mixed}, shuffle=split == "train")
    return data.batch(16, drop_remainder=split == "train")


@pytest.mark.parametrize("name,args", LOSSES, ids=[n for n, _ in LOSSES])
def test_each_loss_trains_from_a_recipe_on_float_one_hot_labels(name, args, tmp_path, monkeypatch):
    from mm_train import data
    from mm_train.jobs import execute

    monkeypatch.setattr(data, "build_dataset", lambda cfg, split, where="dataset": soft_label_data(split))
    linear = {"flatten": "{type: Flatten}", "fc": "{type: Dense, out_channels: 10}"}
    config = compose(*replace("loss", {"type": name, **args}),
                     *replace("lr_schedule", {"type": "constant", "lr": 0.05}),
                     "train.epochs=3", "callbacks=[]",
                     # a linear model: no BatchNorm statistics to make three tiny epochs noisy
                     *replace("network.layers", linear))
    assert config["loss"] == {"type": name, **args}
    execute(config, tmp_path, "quickstart")
    history = json.loads((tmp_path / "metrics.json").read_text())["history"]
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert all(math.isfinite(h["loss"]) for h in history)
    assert history[-1]["loss"] < history[0]["loss"], history


@pytest.mark.parametrize("loss", ["SoftmaxCrossEntropyWithLogits", "CrossEntropyLoss"])
def test_mixup_from_the_data_pipeline_trains_with_a_dense_loss(loss, tmp_path):
    """dataset.one_hot + MixUpBatch (float mixed labels) through the recipe's own pipeline."""
    from training_helpers import train
    sparse = ["+loss.sparse=false"] if loss == "SoftmaxCrossEntropyWithLogits" else []
    train(tmp_path, *replace("loss", {"type": loss}), *sparse, "+dataset.one_hot=true",
          "+dataset.train.batch_transforms=[{type: MixUpBatch, alpha: 0.4}]", "train.epochs=2")
    history = json.loads((tmp_path / "metrics.json").read_text())["history"]
    assert len(history) == 2 and all(math.isfinite(h["loss"]) for h in history)
    assert history[-1]["acc"] > 0.2
