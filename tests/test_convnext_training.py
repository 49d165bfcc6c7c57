"""ConvNeXt's block in training: ``recompute: true`` (less memory in PyNative mode) trains like the block
without it, keeps torchvision's output, and a non-boolean value is refused."""
from __future__ import annotations

import copy

import mindspore as ms
import numpy as np
import pytest

from test_families import FIXTURES, small_config, weight_file


def _with_recompute(config: dict, value, **block) -> dict:
    """``config`` with ``recompute: value`` (and ``block``'s keys) on every ConvNeXtBlock of its network."""
    config = copy.deepcopy(config)

    def visit(node):
        if isinstance(node, dict):
            if node.get("type") == "ConvNeXtBlock":
                node.update(block, recompute=value)
            for child in node.values():
                visit(child)
        elif isinstance(node, list):
            for child in node:
                visit(child)
    visit(config["network"])
    return config


def _train_steps(config, weights=None, steps: int = 1):
    from training_helpers import train_steps
    config = copy.deepcopy(config)
    config["train"]["epochs"] = 1
    config["lr_schedule"].update(warmup_epochs=0, lr_max=0.001)
    return train_steps(config, weights, steps)


def test_convnext_blocks_with_recompute_train_like_without_in_pynative_mode():
    """A small network from convnext_tiny_torchvision's blocks, PyNative (where recompute saves memory): with
    ``recompute: true`` on its three ConvNeXtBlocks, the same loss and the same weights after a step (every
    block parameter moved) as without it, from the same start. The layer scale starts at 0.5, not 1e-6, so
    the blocks' branches count in the loss and their gradients."""
    mode = ms.get_context("mode")
    ms.set_context(mode=ms.PYNATIVE_MODE)
    try:
        start, plain_losses, plain = _train_steps(_with_recompute(small_config("convnext"), False, layer_scale=0.5))
        _, recomputed_losses, recomputed = _train_steps(
            _with_recompute(small_config("convnext"), True, layer_scale=0.5), start)
    finally:
        ms.set_context(mode=mode)
    assert np.isfinite(plain_losses).all(), plain_losses
    np.testing.assert_allclose(recomputed_losses, plain_losses, rtol=1e-5)
    moved = [name for name in plain if not np.array_equal(start[name], plain[name])]
    assert {name for name in plain if ".block." in name or "layer_scale" in name} <= set(moved)
    for name in plain:
        np.testing.assert_allclose(recomputed[name], plain[name], rtol=1e-4, atol=1e-6, err_msg=name)


def test_convnext_blocks_with_recompute_keep_torchvisions_output():
    """The same torchvision weights load strictly into the blocks with ``recompute: true``, and the eval-mode
    logits equal torchvision's within 1e-4 (the fixture of the plain blocks' parity test)."""
    from mm_train.commands.parity import network_output

    config = _with_recompute(small_config("convnext"), True)
    config["init_from"] = str(weight_file("convnext"))
    x, expected = np.load(FIXTURES / "convnext" / "x.npy"), np.load(FIXTURES / "convnext" / "y.npy")
    out = network_output(config, x)
    assert out.shape == expected.shape == (2, 10)
    assert np.abs(out - expected).max() < 1e-4


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_convnext_block_recompute_must_be_a_boolean(value):
    from mm_train.core.errors import ConfigError
    from mm_train.nn.builder import build_network

    config = _with_recompute(small_config("convnext"), value)
    with pytest.raises(ConfigError, match=r"^network\.layers\.features\.layers\[1\]\.layers\[0\]\.recompute: "
                                          rf"got {value!r} \(expected true or false\)$"):
        build_network(config["network"])


@pytest.mark.parametrize("recompute", [False, True])
def test_the_layer_scale_gradient_comes_from_the_samples_stochastic_depth_kept(recompute):
    """A ConvNeXtBlock dropping its branch with p = 0.5, in training (PyNative): the layer scale's gradient of
    sum(block(x) - x) is the sum of the kept samples' branches over 0.5, also with ``recompute: true`` (the
    backward pass must not draw a new drop mask)."""
    from mindspore import nn

    from mm_train.nn.convnext import convnext_block

    mode = ms.get_context("mode")
    ms.set_context(mode=ms.PYNATIVE_MODE)
    try:
        block, _ = convnext_block((4, 8, 8), layer_scale=1.0, stochastic_depth=0.5, recompute=recompute)
        block.set_train()
        x = ms.Tensor(np.random.default_rng(0).normal(0, 1, (16, 4, 8, 8)).astype(np.float32))

        def branch_sum(x):
            out = block(x)
            return (out - x).sum(), out

        grad = ms.value_and_grad(branch_sum, None, [block.layer_scale], has_aux=True)
        kept_counts = set()
        for _ in range(3):
            (_, out), (scale_grad,) = grad(x)
            kept = np.abs((out - x).asnumpy()).reshape(16, -1).max(axis=1) > 0
            kept_counts.add(int(kept.sum()))
            branch = nn.Cell.__call__(block.block, x).asnumpy()
            expected = (branch[kept] / 0.5).sum(axis=(0, 2, 3)).reshape(4, 1, 1)
            np.testing.assert_allclose(scale_grad.asnumpy(), expected, rtol=1e-4, atol=1e-4)
    finally:
        ms.set_context(mode=mode)
    assert kept_counts - {0, 16}, kept_counts   # some samples dropped, some kept
