"""Stochastic depth in transformer blocks, ``network.drop_path_rate`` linear over depth, token initialisers."""
from __future__ import annotations

import numpy as np
import pytest

import training_helpers  # noqa: F401  (claims the CPU)
import mindspore as ms

from mm_train.core.errors import ConfigError
from mm_train.nn.builder import build_network
from mm_train.nn.stochastic_depth import StochasticDepthCell


def vit(depth=4, **network):
    return build_network({"input_shape": [3, 16, 16], **network, "layers": {
        "conv_proj": {"type": "PatchEmbedding", "hidden_dim": 64, "patch_size": 8},
        "class_token": {"type": "ClassToken"},
        "encoder": {"type": "Sequential", "layers": {
            "pos_embedding": {"type": "PositionEmbedding"},
            "layers": {"type": "Repeat", "repeat": depth,
                       "block": {"type": "EncoderBlock", "num_heads": 2, "mlp_dim": 32}},
            "ln": {"type": "LayerNorm", "eps": 1e-6}}},
        "token": {"type": "SelectToken"},
        "heads": {"type": "Dense", "out_channels": 4}}})[0]


def rates(network):
    return {name: cell.p for name, cell in network.cells_and_names() if isinstance(cell, StochasticDepthCell)}


def test_drop_path_rate_grows_linearly_from_the_first_block_to_the_last():
    got = rates(vit(depth=4, drop_path_rate=0.3))
    assert list(got) == [f"encoder.layers.{i}.drop_path" for i in range(4)]
    assert list(got.values()) == pytest.approx([0.0, 0.1, 0.2, 0.3])
    assert set(rates(vit(depth=2)).values()) == {0.0}


def test_drop_path_drops_whole_samples_in_training_and_is_identity_in_eval():
    cell = StochasticDepthCell(0.5)
    x = ms.Tensor(np.ones((400, 3, 2), np.float32))
    cell.set_train(True)
    out = cell(x).asnumpy()
    per_sample = np.unique(out.reshape(400, -1), axis=1)
    assert per_sample.shape[1] == 1 and set(np.unique(out)) == {0.0, 2.0}
    assert 0.4 < np.mean(out[:, 0, 0] == 0.0) < 0.6
    cell.set_train(False)
    np.testing.assert_array_equal(cell(x).asnumpy(), x.asnumpy())


def test_a_ported_rate_is_checked_and_needs_a_block_that_drops():
    with pytest.raises(ConfigError, match=r"network.drop_path_rate: got 1.5"):
        vit(drop_path_rate=1.5)
    with pytest.raises(ConfigError, match=r"network.drop_path_rate: got 0.1 but the network has no block"):
        build_network({"input_shape": [3, 8, 8], "drop_path_rate": 0.1,
                       "layers": {"flat": {"type": "Flatten"}, "fc": {"type": "Dense", "out_channels": 2}}})
    with pytest.raises(ConfigError, match=r"network.layers.b.drop_path: got 2 \(expected a drop probability"):
        build_network({"input_shape": [3, 16, 16], "layers": {
            "p": {"type": "PatchEmbedding", "hidden_dim": 8, "patch_size": 8},
            "b": {"type": "EncoderBlock", "num_heads": 2, "mlp_dim": 8, "drop_path": 2}}})


def test_truncated_normal_tokens_and_attention_initialisers():
    network = vit(init={"ClassToken": {"token": "TruncatedNormal(sigma=0.02)"},
                        "PositionEmbedding": {"embedding": {"type": "TruncatedNormal", "sigma": 0.02}},
                        "MultiheadAttention": {"in_proj_weight": "XavierUniform", "in_proj_bias": 0.5}})
    values = {p.name: p.asnumpy() for p in network.get_parameters()}
    token, pos = values["class_token.token"], values["encoder.pos_embedding.embedding"]
    assert 0.01 < token.std() < 0.03 and 0.015 < pos.std() < 0.025 and np.abs(pos).max() < 2.0
    assert np.all(values["encoder.layers.0.self_attention.in_proj_bias"] == 0.5)
    w = values["encoder.layers.0.self_attention.in_proj_weight"]         # (3 * 64, 64): bound sqrt(6 / (192 + 64))
    assert np.abs(w).max() <= np.sqrt(6 / 256) + 1e-6 and np.abs(w).max() > 0.8 * np.sqrt(6 / 256)
    default = {p.name: p.asnumpy() for p in vit().get_parameters()}
    assert np.all(default["class_token.token"] == 0)                          # torchvision's zeros unless the recipe says
