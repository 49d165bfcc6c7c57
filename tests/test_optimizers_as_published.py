"""AdamW and Lamb with torch's / timm's update rules, and layer-wise lr decay groups."""
from __future__ import annotations

import numpy as np
import pytest

import training_helpers  # noqa: F401  (claims the CPU)
import mindspore as ms
from mindspore import Parameter, Tensor

from mm_train.core.errors import ConfigError
from mm_train.learning.optimizers import build_optimizer, layer_ids

W0 = np.array([[0.5, -1.0, 2.0], [0.1, 0.3, -0.7]], np.float32)
B0 = np.array([0.2, -0.4], np.float32)
GRADS = [(np.array([[0.1, -0.2, 0.3], [0.0, 0.5, -0.1]], np.float32), np.array([0.05, -0.3], np.float32)),
         (np.array([[-0.4, 0.1, 0.2], [0.3, -0.2, 0.6]], np.float32), np.array([0.2, 0.1], np.float32))]


def params():
    return [Parameter(Tensor(W0.copy()), name="fc.weight"), Parameter(Tensor(B0.copy()), name="fc.bias")]


def run(spec, lr=0.1):
    ps = params()
    optimizer = build_optimizer(spec, ps, lr)
    for gw, gb in GRADS:
        optimizer((Tensor(gw), Tensor(gb)))
    return [p.asnumpy() for p in ps]


def torch_adamw(p, grads, lr, wd, b1=0.9, b2=0.999, eps=1e-8):
    """torch.optim.AdamW (amsgrad=False, maximize=False): the algorithm of its documentation."""
    p, m, v = p.astype(np.float64), 0.0, 0.0
    for t, g in enumerate(grads, start=1):
        p = p * (1 - lr * wd)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return p


def test_adamw_equals_torch_adamw_over_two_steps_with_decay_on_weights_only():
    weight, bias = run({"type": "AdamW", "weight_decay": 0.05, "no_decay": ["bias"]})
    np.testing.assert_allclose(weight, torch_adamw(W0, [g for g, _ in GRADS], 0.1, 0.05), atol=1e-6)
    np.testing.assert_allclose(bias, torch_adamw(B0, [g for _, g in GRADS], 0.1, 0.0), atol=1e-6)
    plain, _ = run({"type": "AdamWeightDecay", "weight_decay": 0.05, "no_decay": ["bias"]})
    assert np.max(np.abs(plain - weight)) > 1e-3        # MindSpore's has no bias correction


def lamb_update(p, grads, lr, wd, adapt, b1=0.9, b2=0.999, eps=1e-6):
    """timm's Lamb (grad_averaging, bias_correction, no clipping): trust ratio when wd != 0 or always_adapt."""
    p, m, v = p.astype(np.float64), 0.0, 0.0
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        update = (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps) + wd * p
        if wd != 0 or adapt:
            w_norm, u_norm = np.linalg.norm(p), np.linalg.norm(update)
            update = update * (w_norm / u_norm if w_norm > 0 and u_norm > 0 else 1.0)
        p = p - lr * update
    return p


@pytest.mark.parametrize("always_adapt", [True, False])
def test_lamb_always_adapt_decides_the_trust_ratio_of_undecayed_parameters(always_adapt):
    weight, bias = run({"type": "Lamb", "weight_decay": 0.02, "no_decay": ["bias"], "always_adapt": always_adapt})
    np.testing.assert_allclose(weight, lamb_update(W0, [g for g, _ in GRADS], 0.1, 0.02, True), atol=1e-6)
    np.testing.assert_allclose(bias, lamb_update(B0, [g for _, g in GRADS], 0.1, 0.0, always_adapt), atol=1e-6)


def tiny_vit():
    from mm_train.nn.builder import build_network
    spec = {"input_shape": [3, 16, 16], "layers": {
        "conv_proj": {"type": "PatchEmbedding", "hidden_dim": 16, "patch_size": 8},
        "class_token": {"type": "ClassToken"},
        "encoder": {"type": "Sequential", "layers": {
            "pos_embedding": {"type": "PositionEmbedding"},
            "layers": {"type": "Repeat", "repeat": 3, "block": {"type": "EncoderBlock", "num_heads": 2, "mlp_dim": 32}},
            "ln": {"type": "LayerNorm", "eps": 1e-6}}},
        "token": {"type": "SelectToken"},
        "heads": {"type": "Dense", "out_channels": 4}}}
    return build_network(spec)[0]


LAYER_DECAY = {"rate": 0.65, "blocks": "encoder.layers.{i}.*",
               "stem": ["conv_proj.*", "class_token.*", "encoder.pos_embedding.*"]}


def test_layer_decay_gives_each_depth_lr_times_rate_to_the_distance_from_the_head():
    network = tiny_vit()
    names = [p.name for p in network.trainable_params()]
    ids = layer_ids(names, LAYER_DECAY)
    assert ids["conv_proj.weight"] == 0 and ids["encoder.pos_embedding.embedding"] == 0
    assert ids["encoder.layers.0.ln_1.gamma"] == 1 and ids["encoder.layers.2.mlp.3.weight"] == 3
    assert ids["encoder.ln.gamma"] == 4 and ids["heads.weight"] == 4
    optimizer = build_optimizer({"type": "AdamW", "weight_decay": 0.05, "layer_decay": LAYER_DECAY},
                                network.trainable_params(), 1.0)
    lrs = {p.name: float(optimizer.get_lr_parameter(p).asnumpy()) for p in network.trainable_params()}
    for name in names:
        assert lrs[name] == pytest.approx(0.65 ** (4 - ids[name]), rel=1e-6), name
    flags = dict(zip([p.name for p in optimizer._parameters], optimizer.decay_flags))
    assert flags["encoder.layers.1.mlp.0.weight"] and not flags["encoder.layers.1.ln_1.gamma"]


def test_layer_decay_errors_name_the_key():
    names = ["conv.weight", "fc.weight"]
    with pytest.raises(ConfigError, match=r"optimizer.layer_decay.blocks: 'blocks.\{i\}.\*' matches no parameter"):
        layer_ids(names, {"rate": 0.65, "blocks": "blocks.{i}.*"})
    with pytest.raises(ConfigError, match=r"optimizer.layer_decay.blocks: got 'blocks.\*'.*one \{i\}"):
        layer_ids(names, {"rate": 0.65, "blocks": "blocks.*"})


def test_adamw_trains_the_quickstart(tmp_path):
    acc = training_helpers.train(tmp_path, "~optimizer", "+optimizer={type: AdamW, weight_decay: 0.05}",
                                 "~lr_schedule", "+lr_schedule={type: cosine, lr_max: 0.003}", "train.epochs=3")
    assert acc > 0.5
