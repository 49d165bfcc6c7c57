"""The vision transformer's attention and train step: MindSpore's MultiheadAttention results, lean memory."""
from __future__ import annotations

import copy

import mindspore as ms
import numpy as np
import pytest
from mindspore import nn

from mm_train.nn.transformer import SelfAttention
from training_helpers import train_steps


def test_self_attention_equals_mindspore_multihead_attention_with_the_same_parameters():
    ours = SelfAttention(16, 4)
    theirs = nn.MultiheadAttention(16, 4, batch_first=True)
    assert [p.name for p in ours.get_parameters()] == [p.name for p in theirs.get_parameters()]
    for mine, other in zip(ours.get_parameters(), theirs.get_parameters()):
        assert mine.shape == other.shape
        other.set_data(mine.data)
    x = ms.Tensor(np.random.default_rng(0).normal(0, 1, (3, 5, 16)).astype(np.float32))
    np.testing.assert_allclose(ours(x).asnumpy(), theirs(x, x, x, need_weights=False)[0].asnumpy(), atol=1e-5)


def test_small_vit_from_the_vit_b_16_recipe_blocks_takes_two_training_steps():
    """vit_b_16_torchvision's blocks (PatchEmbedding, ClassToken, EncoderBlock x2, ...), narrow and at 32x32,
    with the recipe's loss and AdamWeightDecay in mm_train's train step, graph mode: two steps change the
    weights and the loss stays finite."""
    from mm_train.learning.amp import parse_loss_scale
    from mm_train.assembly.parts import build_training
    from mm_train.nn.builder import build_network
    from test_networks import composed

    config = copy.deepcopy(composed("vit_b_16_torchvision", "dataset.image_size=32", "dataset.num_classes=10"))
    layers = config["network"]["layers"]
    layers["conv_proj"] = {"type": "PatchEmbedding", "hidden_dim": 48, "patch_size": 8}
    layers["encoder"]["layers"]["layers"].update(repeat=2, block={"type": "EncoderBlock", "num_heads": 4,
                                                                   "mlp_dim": 96})
    layers["heads"]["layers"]["head"].update(weight_init="Normal", bias_init="Zero")
    config["train"]["epochs"] = 1
    config["lr_schedule"].update(warmup_epochs=0, lr_max=0.001)
    ms.set_context(mode=ms.GRAPH_MODE)
    network, _ = build_network(config["network"])
    _, _, step = build_training(config, network, 4, 4, parse_loss_scale(None, "CPU"), "O0")
    before = {p.name: p.asnumpy().copy() for p in network.trainable_params()}
    rng = np.random.default_rng(0)
    x = ms.Tensor(rng.normal(0, 1, (4, 3, 32, 32)).astype(np.float32))
    y = ms.Tensor(rng.integers(0, 10, 4).astype(np.int32))
    losses = [float(step(x, y).asnumpy()) for _ in range(2)]
    assert all(np.isfinite(losses)), losses
    moved = [name for name, value in before.items()
             if not np.array_equal(value, network.parameters_dict()[name].asnumpy())]
    assert any("self_attention.in_proj_weight" in name for name in moved)
    assert len(moved) == len(before)


def _small_vit_config(recompute: bool = False, blocks: int = 2) -> dict:
    """vit_b_16_torchvision's blocks, narrow, ``blocks`` encoder blocks, at 32x32 and 10 classes."""
    from test_networks import composed

    config = copy.deepcopy(composed("vit_b_16_torchvision", "dataset.image_size=32", "dataset.num_classes=10"))
    layers = config["network"]["layers"]
    layers["conv_proj"] = {"type": "PatchEmbedding", "hidden_dim": 48, "patch_size": 8}
    layers["encoder"]["layers"]["layers"].update(repeat=blocks, block={"type": "EncoderBlock", "num_heads": 4,
                                                                        "mlp_dim": 96, "recompute": recompute})
    layers["heads"]["layers"]["head"].update(weight_init="Normal", bias_init="Zero")
    config["train"]["epochs"] = 1
    config["lr_schedule"].update(warmup_epochs=0, lr_max=0.001)
    return config


def test_vit_blocks_with_recompute_train_like_without_in_pynative_mode():
    """The recipe's mode (PyNative): ``recompute: true`` on the encoder blocks (less memory, bench/memory.py)
    gives the same loss and the same weights after a step as the blocks without it (one block: the test stays
    short, as PyNative runs op by op)."""
    mode = ms.get_context("mode")
    ms.set_context(mode=ms.PYNATIVE_MODE)
    try:
        start, plain_losses, plain = train_steps(_small_vit_config(blocks=1), steps=1)
        _, recomputed_losses, recomputed = train_steps(_small_vit_config(True, blocks=1), start, steps=1)
    finally:
        ms.set_context(mode=mode)
    assert all(np.isfinite(plain_losses)), plain_losses
    np.testing.assert_allclose(recomputed_losses, plain_losses, rtol=1e-5)
    assert any(not np.array_equal(start[name], plain[name]) for name in plain)
    for name in plain:
        np.testing.assert_allclose(recomputed[name], plain[name], rtol=1e-4, atol=1e-6, err_msg=name)


def test_encoder_block_recompute_must_be_a_boolean():
    from mm_train.core.errors import ConfigError
    from mm_train.nn.builder import build_network

    config = _small_vit_config(recompute="yes")
    with pytest.raises(ConfigError, match="recompute"):
        build_network(config["network"])


BLOCK = {"type": "EncoderBlock", "num_heads": 2, "mlp_dim": 16}
DROP_PATH = {"on the block": {"input_shape": [5, 8], "layers": {"first": {"type": "Identity"},
                                                                 "block": {**BLOCK, "drop_path": 0.5}}},
             "by drop_path_rate": {"input_shape": [5, 8], "drop_path_rate": 0.5,   # rates 0 and 0.5 over depth
                                   "layers": {"first": BLOCK, "block": BLOCK}}}


@pytest.mark.parametrize("recompute", [False, True])
@pytest.mark.parametrize("network_spec", DROP_PATH.values(), ids=DROP_PATH.keys())
def test_encoder_block_drop_path_gradient_uses_the_forwards_mask(network_spec, recompute):
    """An EncoderBlock with stochastic depth 0.5, in training (PyNative), its attention branch silenced (zero
    output projection): the MLP's last bias gets 1 / 0.5 per token of each sample whose MLP branch was kept,
    also with ``recompute: true`` (the backward pass must not draw a new drop mask), whether the block sets
    its rate or ``network.drop_path_rate`` does after the blocks are built."""
    from mm_train.nn.builder import build_network

    mode = ms.get_context("mode")
    ms.set_context(mode=ms.PYNATIVE_MODE)
    try:
        spec = copy.deepcopy(network_spec)
        for layer in spec["layers"].values():
            layer.setdefault("recompute", recompute) if layer["type"] == "EncoderBlock" else None
        network, _ = build_network(spec)
        network.set_train()
        params = {p.name: p for p in network.get_parameters()}
        for name in ("block.self_attention.out_proj.weight", "block.self_attention.out_proj.bias"):
            params[name].set_data(ms.Tensor(np.zeros(params[name].shape, np.float32)))
        x = ms.Tensor(np.random.default_rng(0).normal(0, 1, (16, 5, 8)).astype(np.float32))
        before = network[0](x)   # the first layer: no stochastic depth, the same in every call
        grad = ms.value_and_grad(lambda x: _sum_and_output(network, x), None, [params["block.mlp.3.bias"]],
                                 has_aux=True)
        kept_counts = set()
        for _ in range(3):
            (_, out), (bias_grad,) = grad(x)
            kept = np.abs((out - before).asnumpy()).reshape(16, -1).max(axis=1) > 0
            kept_counts.add(int(kept.sum()))
            np.testing.assert_allclose(bias_grad.asnumpy(), np.full(8, kept.sum() * 5 / 0.5), rtol=1e-5)
    finally:
        ms.set_context(mode=mode)
    assert kept_counts - {0, 16}, kept_counts   # some samples dropped, some kept


def _sum_and_output(network, x):
    out = network(x)
    return out.sum(), out


def test_encoder_block_recompute_with_dropout_is_refused():
    from mm_train.core.errors import ConfigError
    from mm_train.nn.builder import build_network

    config = _small_vit_config(recompute=True)
    config["network"]["layers"]["encoder"]["layers"]["layers"]["block"]["dropout"] = 0.1
    with pytest.raises(ConfigError) as err:
        build_network(config["network"])
    assert str(err.value) == (
        "network.layers.encoder.layers.layers.block.recompute: true with dropout 0.1 and attention_dropout 0.0: "
        "a recomputed dropout draws a new mask, so the gradients would not be the loss's (expected recompute: "
        "false, or dropout: 0 and attention_dropout: 0)")
