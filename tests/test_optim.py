"""Optimizers by name, parameter groups, weight decay, and gradient clipping in the train step."""
from __future__ import annotations

import json

import numpy as np
import pytest

from mm_train.core.errors import ConfigError
from training_helpers import replace, train

LINEAR = replace("network.layers", {"flatten": "{type: Flatten}", "fc": "{type: Dense, out_channels: 10}"})
OPTIMIZERS = [   # each with a different schedule, so every schedule also trains
    ({"type": "Momentum", "momentum": 0.9}, {"type": "cosine", "lr_max": 0.1, "warmup_epochs": 1}),
    ({"type": "SGD", "momentum": 0.5, "nesterov": True}, {"type": "step", "lr_max": 0.2, "step_epochs": 2}),
    ({"type": "Adam"}, {"type": "multistep", "lr_max": 0.01, "milestones": "[2]"}),
    ({"type": "AdamWeightDecay", "weight_decay": 0.01}, {"type": "linear", "lr_max": 0.01}),
    ({"type": "RMSProp", "momentum": 0.0}, {"type": "poly", "lr_max": 0.003, "power": 1.0}),
    ({"type": "LARS", "momentum": 0.9, "coefficient": 0.5}, {"type": "constant", "lr": 0.05}),
    ({"type": "Lamb", "weight_decay": 0.01}, {"type": "warmup_cosine", "lr_max": 0.02}),
]


@pytest.mark.parametrize("optimizer,schedule", OPTIMIZERS, ids=[o["type"] for o, _ in OPTIMIZERS])
def test_each_optimizer_and_schedule_trains_from_a_recipe(optimizer, schedule, tmp_path):
    train(tmp_path, *replace("optimizer", optimizer), *replace("lr_schedule", schedule), *LINEAR,
          "train.epochs=3", "+optimizer.clip_grad_norm=10.0")
    history = json.loads((tmp_path / "metrics.json").read_text())["history"]
    assert len(history) == 3 and all(np.isfinite(h["loss"]) for h in history)
    assert history[-1]["loss"] < history[0]["loss"], history


def test_weight_decay_leaves_the_no_decay_group_untouched():
    """One Momentum step with zero gradients: only weight decay moves a parameter."""
    import mindspore as ms
    from mindspore import nn

    from mm_train.learning.optimizers import build_optimizer

    net = nn.SequentialCell([nn.Dense(4, 3), nn.BatchNorm1d(3)])
    before = {p.name: p.asnumpy().copy() for p in net.trainable_params()}
    opt = build_optimizer({"type": "Momentum", "momentum": 0.9, "weight_decay": 0.1, "no_decay": ["gamma", "beta",
                          "bias"]}, net.trainable_params(), 0.5)
    opt(tuple(ms.ops.zeros_like(p) for p in net.trainable_params()))
    after = {p.name: p.asnumpy() for p in net.trainable_params()}
    for name in ("0.bias", "1.gamma", "1.beta"):
        np.testing.assert_array_equal(after[name], before[name], err_msg=name)
    np.testing.assert_allclose(after["0.weight"], before["0.weight"] * (1 - 0.5 * 0.1), rtol=1e-6)


def test_param_groups_from_the_recipe_scale_the_rate_and_set_decay():
    import mindspore as ms
    from mindspore import nn

    from mm_train.learning.optimizers import build_optimizer

    net = nn.SequentialCell([nn.Dense(4, 3), nn.Dense(3, 2)])
    before = {p.name: p.asnumpy().copy() for p in net.trainable_params()}
    spec = {"type": "SGD", "weight_decay": 0.0, "param_groups": [{"params": ["1.*"], "lr_scale": 10.0}]}
    opt = build_optimizer(spec, net.trainable_params(), ms.Tensor(np.full(5, 0.01, np.float32)))
    opt(tuple(ms.ops.ones_like(p) for p in net.trainable_params()))
    moved = {p.name: before[p.name] - p.asnumpy() for p in net.trainable_params()}
    np.testing.assert_allclose(moved["0.weight"], 0.01, rtol=1e-5)
    np.testing.assert_allclose(moved["1.weight"], 0.1, rtol=1e-5)
    np.testing.assert_allclose(moved["1.bias"], 0.1, rtol=1e-5)
    with pytest.raises(ConfigError, match=r"optimizer.param_groups\[0\].params: \['head.\*'\] match no"):
        build_optimizer({"type": "SGD", "param_groups": [{"params": ["head.*"]}]}, net.trainable_params(), 0.1)
    with pytest.raises(ConfigError, match=r"optimizer.momentun: unknown argument.*'momentum'"):
        build_optimizer({"type": "Momentum", "momentun": 0.9}, net.trainable_params(), 0.1)


@pytest.mark.parametrize("scale", [1.0, 1024.0])
def test_gradients_are_clipped_by_global_norm_after_unscaling(scale):
    """SGD with rate 1: a parameter moves by exactly its clipped gradient, with or without a loss scale."""
    import mindspore as ms
    from mindspore import nn

    from mm_train.learning.amp import LossScale
    from mm_train.learning.optimizers import build_optimizer
    from mm_train.learning.train_step import build_train_network

    x = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]], np.float32)
    t = np.array([[10.0, -5.0], [3.0, 4.0]], np.float32)
    net = nn.Dense(3, 2)
    w, b = net.weight.asnumpy().copy(), net.bias.asnumpy().copy()
    residual = 2 * (x @ w.T + b - t) / t.size                   # d mean((y - t)^2) / dy
    grads = [residual.T @ x, residual.sum(0)]
    norm = np.sqrt(sum((g ** 2).sum() for g in grads))
    clip = 0.5
    assert norm > clip
    opt = build_optimizer({"type": "SGD"}, net.trainable_params(), 1.0)
    kind = "fixed" if scale != 1.0 else "none"
    step = build_train_network(net, nn.MSELoss(), opt, LossScale(kind, scale), "O0", clip_grad_norm=clip)
    step(ms.Tensor(x), ms.Tensor(t))
    np.testing.assert_allclose(w - net.weight.asnumpy(), grads[0] * clip / norm, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(b - net.bias.asnumpy(), grads[1] * clip / norm, rtol=1e-4, atol=1e-6)


def test_clip_grad_norm_must_be_positive():
    from mm_train.learning.optimizers import optimizer_errors
    (error,) = optimizer_errors({"type": "SGD", "clip_grad_norm": -1})
    assert str(error).startswith("optimizer.clip_grad_norm: got -1 (expected a number above 0")
    assert optimizer_errors({"type": "SGD"}) == [] and optimizer_errors({"type": "SGD", "clip_grad_norm": 2}) == []


def test_lars_scales_each_layer_by_its_trust_ratio():
    """One LARS step (momentum 0): w -= lr * c * |w| / (|g| + wd |w| + eps) * (g + wd w); biases plain."""
    import mindspore as ms
    from mindspore import nn

    from mm_train.learning.optimizers import build_optimizer

    net = nn.Dense(4, 3)
    w, b = net.weight.asnumpy().copy(), net.bias.asnumpy().copy()
    g = np.random.default_rng(0).normal(size=w.shape).astype(np.float32)
    opt = build_optimizer({"type": "LARS", "momentum": 0.0, "coefficient": 0.01, "epsilon": 1e-5,
                           "weight_decay": 0.1}, net.trainable_params(), 0.5)
    opt((ms.Tensor(g), ms.Tensor(np.ones(3, np.float32))))
    ratio = 0.01 * np.linalg.norm(w) / (np.linalg.norm(g) + 0.1 * np.linalg.norm(w) + 1e-5)
    np.testing.assert_allclose(net.weight.asnumpy(), w - 0.5 * ratio * (g + 0.1 * w), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(net.bias.asnumpy(), b - 0.5, rtol=1e-6)


def test_lamb_matches_the_lamb_formula_for_two_steps():
    import mindspore as ms
    from mindspore import nn

    from mm_train.learning.optimizers import build_optimizer

    net = nn.Dense(4, 3, has_bias=False)
    w = net.weight.asnumpy().astype(np.float64)
    rng = np.random.default_rng(1)
    opt = build_optimizer({"type": "Lamb", "weight_decay": 0.01, "no_decay": []}, net.trainable_params(), 0.1)
    m = v = np.zeros_like(w)
    for t in (1, 2):
        g = rng.normal(size=w.shape).astype(np.float32)
        opt((ms.Tensor(g),))
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g.astype(np.float64) ** 2
        r = (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-6) + 0.01 * w
        w = w - 0.1 * np.linalg.norm(w) / np.linalg.norm(r) * r
    np.testing.assert_allclose(net.weight.asnumpy(), w, rtol=1e-4, atol=1e-6)
