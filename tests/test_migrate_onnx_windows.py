"""Window attention (Swin, MaxViT) through ``mm-train migrate onnx``: windows folded into the batch axis and
back, q/k/v picked from a permuted tensor, a relative-position bias table indexed by a constant, each against
onnxruntime; the table stays one trainable parameter of the source's shape and name, and the network trains."""
from __future__ import annotations

import numpy as np
import pytest

import onnx_graphs as g
import onnx_exporter_graphs as wg
import training_helpers  # noqa: F401  (claims the CPU device before any kernel runs)

TABLE = f"{wg.ATTN}.relative_position_bias_table"


def convert(path):
    from mm_train.commands.migrate import convert as run
    return run(path, "net", verbose_print=lambda *a, **k: None)


@pytest.mark.parametrize("picks,mask", [("gather", True), ("slice", False)])
def test_window_partition_and_reverse_through_the_batch_match_onnxruntime(picks, mask, tmp_path):
    converted, _ = convert(g.save(wg.window_attention(shifted_mask=mask, picks=picks), tmp_path))
    assert converted.parity is not None and converted.parity.passed, converted.parity.text()
    layers = converted.recipe["network"]["layers"]
    assert layers[TABLE] == {"type": "Parameter", "shape": [9, 2], "requires_grad": True, "inputs": []}
    indexed = [v for v in layers.values() if v["type"] == "Indexed"]
    assert indexed == [{"type": "Indexed", "shape": [1, 1, 2, 4, 4], "inputs": TABLE}]
    # the windows of one sample stay in that sample: [batch, windows, tokens, C]
    assert {"type": "Reshape", "shape": [4, 4, 6]} in layers.values()
    assert all(v["perm"][0] == 0 for v in layers.values() if v["type"] == "Transpose")


def test_relative_position_table_is_the_source_tensor_and_gets_gradients(tmp_path):
    import mindspore as ms
    from mindspore import Tensor, nn
    from onnx import numpy_helper
    built = wg.window_classifier()
    converted, network = convert(g.save(built, tmp_path))
    assert converted.parity.passed, converted.parity.text()
    source = {t.name: numpy_helper.to_array(t) for t in built.graph.initializer}
    np.testing.assert_array_equal(converted.weights[TABLE], source[TABLE])
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((3, 3, 4, 4)).astype(np.float32))
    labels = Tensor(rng.integers(0, 10, 3).astype(np.int32))
    network.set_train(True)
    params = network.trainable_params()
    step = ms.value_and_grad(nn.WithLossCell(network, nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")),
                             None, params)
    loss, grads = step(x, labels)
    no_grad = [p.name for p, grad in zip(params, grads) if not np.abs(grad.asnumpy()).sum()]
    assert not no_grad, no_grad
    assert {TABLE, f"{wg.ATTN}.qkv.weight", "embed.weight", "head.weight"} <= {p.name for p in params}
    assert not any(p.name.endswith(".index") for p in params)          # the index is fixed, not learned
    nn.SGD(params, 0.05)(grads)
    assert float(step(x, labels)[0].asnumpy()) < float(loss.asnumpy())


def test_strided_slice_of_patch_merging_has_gradients_in_pynative_mode():
    """Swin's patch merging (``x[:, 0::2, 0::2, :]``, a converted Slice of step 2) trains in PyNative mode."""
    import mindspore as ms
    from mindspore import Tensor
    from mm_train.nn.tensor_shape import slice_
    mode = ms.get_context("mode")
    ms.set_context(mode=ms.PYNATIVE_MODE)
    try:
        cell, out = slice_((14, 14, 8), starts=[1, 0], ends=[14, 14], axes=[1, 2], steps=[2, 2])
        x = np.arange(2 * 14 * 14 * 8, dtype=np.float32).reshape(2, 14, 14, 8)
        np.testing.assert_array_equal(cell(Tensor(x)).asnumpy(), x[:, 1::2, 0::2, :])
        grad = ms.grad(lambda t: cell(t).sum())(Tensor(x)).asnumpy()
    finally:
        ms.set_context(mode=mode)
    expected = np.zeros_like(x)
    expected[:, 1::2, 0::2, :] = 1
    assert out == (7, 7, 8)
    np.testing.assert_array_equal(grad, expected)
