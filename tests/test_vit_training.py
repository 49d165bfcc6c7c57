"""The vision transformer's attention and train step: MindSpore's MultiheadAttention results, lean memory."""
from __future__ import annotations

import copy

import mindspore as ms
import numpy as np
import pytest
from mindspore import nn

from mm_train.nn.transformer import SelfAttention


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


def _train_steps(config, weights=None, steps: int = 2):
    from mm_train.learning.amp import parse_loss_scale
    from mm_train.assembly.parts import build_training
    from mm_train.nn.builder import build_network

    network, _ = build_network(config["network"])
    if weights is not None:
        for p in network.trainable_params():
            p.set_data(ms.Tensor(weights[p.name]))
    start = {p.name: p.asnumpy().copy() for p in network.trainable_params()}
    _, _, step = build_training(config, network, 4, 4, parse_loss_scale(None, "CPU"), "O0")
    rng = np.random.default_rng(0)
    x = ms.Tensor(rng.normal(0, 1, (4, 3, 32, 32)).astype(np.float32))
    y = ms.Tensor(rng.integers(0, 10, 4).astype(np.int32))
    losses = [float(step(x, y).asnumpy()) for _ in range(steps)]
    return start, losses, {p.name: p.asnumpy() for p in network.trainable_params()}


def test_vit_blocks_with_recompute_train_like_without_in_pynative_mode():
    """The recipe's mode (PyNative): ``recompute: true`` on the encoder blocks (less memory, bench/memory.py)
    gives the same loss and the same weights after a step as the blocks without it (one block: the test stays
    short, as PyNative runs op by op)."""
    mode = ms.get_context("mode")
    ms.set_context(mode=ms.PYNATIVE_MODE)
    try:
        start, plain_losses, plain = _train_steps(_small_vit_config(blocks=1), steps=1)
        _, recomputed_losses, recomputed = _train_steps(_small_vit_config(True, blocks=1), start, steps=1)
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
