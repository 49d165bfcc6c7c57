"""The graph blocks (merge, element-wise, shape, source) against numpy, each built and run in GRAPH mode."""
from __future__ import annotations

import math

import numpy as np
import pytest
from mm_train.core.errors import ConfigError

erf = np.vectorize(math.erf)


def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _layer_norm(x, first_axis, eps=1e-5):
    axes = tuple(range(first_axis, x.ndim))
    return (x - x.mean(axes, keepdims=True)) / np.sqrt(x.var(axes, keepdims=True) + eps)


# (spec, per-sample input shapes, numpy on the batched inputs[, the batch of each input: default 2])
CASES = {
    "Add": ({"type": "Add"}, [(4, 3, 3), (4, 3, 3)], lambda a, b: a + b),
    "Add3-broadcast": ({"type": "Add"}, [(4, 3, 3), (4, 1, 1), (1, 1, 3)], lambda a, b, c: a + b + c),
    "Sub": ({"type": "Sub"}, [(4, 3), (1, 3)], lambda a, b: a - b),
    "Mul": ({"type": "Mul"}, [(4, 3, 3), (4, 1, 3)], lambda a, b: a * b),
    "Div": ({"type": "Div"}, [(4, 3), (4, 3)], lambda a, b: a / b),
    "Pow": ({"type": "Pow"}, [(4, 3), (4, 3)], lambda a, b: a ** b),
    "MatMul": ({"type": "MatMul"}, [(5, 4), (4, 3)], lambda a, b: a @ b),
    "MatMul-batched": ({"type": "MatMul"}, [(2, 5, 4), (2, 4, 3)], lambda a, b: a @ b),
    "Concat-channels": ({"type": "Concat", "axis": 1}, [(2, 3, 3), (5, 3, 3)],
                        lambda a, b: np.concatenate([a, b], 1)),
    "Concat-last": ({"type": "Concat", "axis": -1}, [(2, 3), (2, 1), (2, 4)],
                    lambda a, b, c: np.concatenate([a, b, c], -1)),
    "Erf": ({"type": "Erf"}, [(4, 3)], erf),
    "Sqrt": ({"type": "Sqrt"}, [(4, 3)], np.sqrt),
    "Exp": ({"type": "Exp"}, [(4, 3)], np.exp),
    "Log": ({"type": "Log"}, [(4, 3)], np.log),
    "Neg": ({"type": "Neg"}, [(4, 3)], np.negative),
    "Abs": ({"type": "Abs"}, [(4, 3)], np.abs),
    "Reciprocal": ({"type": "Reciprocal"}, [(4, 3)], np.reciprocal),
    "Clip": ({"type": "Clip", "min": 0.6, "max": 1.2}, [(4, 3)], lambda a: np.clip(a, 0.6, 1.2)),
    "Clip-min-only": ({"type": "Clip", "min": 0.8}, [(4, 3)], lambda a: np.maximum(a, 0.8)),
    "Identity": ({"type": "Identity"}, [(4, 3)], lambda a: a),
    "Reshape": ({"type": "Reshape", "shape": [4, -1]}, [(4, 3, 3)], lambda a: a.reshape(a.shape[0], 4, 9)),
    "Reshape-keep": ({"type": "Reshape", "shape": [0, 9]}, [(4, 3, 3)], lambda a: a.reshape(a.shape[0], 4, 9)),
    "Flatten": ({"type": "Flatten"}, [(4, 3, 3)], lambda a: a.reshape(a.shape[0], -1)),
    "Flatten-start2": ({"type": "Flatten", "start_dim": 2}, [(4, 3, 3)], lambda a: a.reshape(a.shape[0], 4, 9)),
    "Transpose": ({"type": "Transpose", "perm": [0, 2, 3, 1]}, [(4, 3, 2)], lambda a: a.transpose(0, 2, 3, 1)),
    "Squeeze": ({"type": "Squeeze", "axes": [2]}, [(4, 1, 3)], lambda a: a.squeeze(2)),
    "Squeeze-all": ({"type": "Squeeze"}, [(4, 1, 1)], lambda a: a.reshape(a.shape[0], 4)),
    "Unsqueeze": ({"type": "Unsqueeze", "axes": [1, -1]}, [(4, 3)], lambda a: a[:, None, :, :, None]),
    "Slice": ({"type": "Slice", "starts": [1], "ends": [100], "axes": [1]}, [(5, 3)], lambda a: a[:, 1:]),
    "Slice-steps": ({"type": "Slice", "starts": [0, -1], "ends": [5, 0], "axes": [1, 2], "steps": [2, -1]},
                    [(5, 3)], lambda a: a[:, 0:5:2, -1:0:-1]),
    "Gather-int": ({"type": "Gather", "axis": 1, "index": 0}, [(5, 3)], lambda a: a[:, 0]),
    "Gather-negative": ({"type": "Gather", "axis": 2, "index": -1}, [(5, 3)], lambda a: a[:, :, -1]),
    "Gather-list": ({"type": "Gather", "axis": 1, "index": [3, 1]}, [(5, 3)], lambda a: a[:, [3, 1]]),
    "BroadcastBatch": ({"type": "BroadcastBatch"}, [(1, 3), (7, 3)],
                       lambda a, b: np.broadcast_to(a, (b.shape[0], 1, 3)), [1, 2]),
    "Expand-shape": ({"type": "Expand", "shape": [4, 3]}, [(1, 3), (7, 3)],
                     lambda a, b: np.broadcast_to(a, (b.shape[0], 4, 3)), [1, 2]),
    "ReduceMean": ({"type": "ReduceMean", "axes": [2, 3], "keepdims": False}, [(4, 3, 3)],
                   lambda a: a.mean((2, 3))),
    "ReduceMean-keepdims": ({"type": "ReduceMean", "axes": [-1]}, [(4, 3)], lambda a: a.mean(-1, keepdims=True)),
    "ReduceSum": ({"type": "ReduceSum", "axes": [1]}, [(4, 3)], lambda a: a.sum(1, keepdims=True)),
    "ReduceSum-all": ({"type": "ReduceSum", "keepdims": False}, [(4, 3)], lambda a: a.sum((1, 2))),
    "Softmax": ({"type": "Softmax"}, [(4, 3)], lambda a: _softmax(a, -1)),
    "Softmax-axis1": ({"type": "Softmax", "axis": 1}, [(4, 3)], lambda a: _softmax(a, 1)),
    "LayerNorm": ({"type": "LayerNorm"}, [(4, 6)], lambda a: _layer_norm(a, 2)),
    "LayerNorm-axis1": ({"type": "LayerNorm", "axis": 1}, [(4, 6)], lambda a: _layer_norm(a, 1)),
    "Pad-onnx": ({"type": "Pad", "pads": [0, 1, 2, 0, 0, 1], "value": 0.5}, [(3, 4, 4)],
                 lambda a: np.pad(a, [(0, 0), (0, 0), (1, 0), (2, 1)], constant_values=0.5)),
    "Pad-edge": ({"type": "Pad", "pads": [0, 0, 1, 1, 0, 0, 2, 0], "mode": "edge"}, [(3, 4, 4)],
                 lambda a: np.pad(a, [(0, 0), (0, 0), (1, 2), (1, 0)], mode="edge")),
    "Pad-reflect": ({"type": "Pad", "pads": [0, 1, 1, 0, 1, 1], "mode": "reflect"}, [(3, 4, 4)],
                    lambda a: np.pad(a, [(0, 0), (0, 0), (1, 1), (1, 1)], mode="reflect")),
}


@pytest.fixture
def graph_mode():
    import mindspore as ms
    old = ms.get_context("mode")
    ms.set_context(mode=ms.GRAPH_MODE)
    yield
    ms.set_context(mode=old)


def build_block(spec, shapes):
    from mm_train.nn.graph import arity
    from mm_train.registry import BLOCKS
    many = arity(spec["type"]) != 1
    return BLOCKS.build(spec, f"network.layers.{spec['type'].lower()}", tuple(shapes) if many else shapes[0])


@pytest.mark.parametrize("case", sorted(CASES))
def test_block_matches_numpy(case, graph_mode):
    import mindspore as ms
    spec, shapes, reference, *batches = CASES[case]
    batches = batches[0] if batches else [2] * len(shapes)
    rng = np.random.default_rng(0)
    inputs = [rng.uniform(0.5, 1.5, (n, *s)).astype(np.float32)   # positive: Sqrt, Log, Pow
              for n, s in zip(batches, shapes)]
    cell, out_shape = build_block(spec, shapes)
    got = cell(*[ms.Tensor(x) for x in inputs]).asnumpy()
    expected = reference(*[x.astype(np.float64) for x in inputs])
    assert got.shape == (2, *out_shape) == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("spec, shapes, message", [
    ({"type": "Add"}, [(4, 3), (5, 3)], "Add cannot broadcast the shapes (N, 4, 3), (N, 5, 3)"),
    ({"type": "Concat", "axis": 0}, [(4, 3), (4, 3)], "Concat axis 0 is not an axis of a sample with 2 axes "
                                                      "(the batch axis is 0 and cannot be used"),
    ({"type": "Concat", "axis": 1}, [(4, 3), (4, 2)], "Concat on axis 1: the other axes differ"),
    ({"type": "MatMul"}, [(5, 4), (3, 3)], "MatMul: the first input has 4 columns but the second 3 rows"),
    ({"type": "Reshape", "shape": [5, -1]}, [(4, 3)], "Reshape cannot make (4, 3) (12 values) into (5, -1)"),
    ({"type": "Transpose", "perm": [1, 0, 2]}, [(4, 3)], "Transpose perm [1, 0, 2] is not a reordering"),
    ({"type": "Squeeze", "axes": [1]}, [(4, 3)], "Squeeze axes [1] of (batch, 4, 3) are not 1"),
    ({"type": "Gather", "axis": 1, "index": 9}, [(4, 3)], "network.layers.gather.index: got 9 "
                                                          "(expected indices from -4 to 3 of axis 1)"),
    ({"type": "Pad", "pads": [1, 1], "mode": "edgy"}, [(3,)], "network.layers.pad.mode: unknown mode 'edgy'"),
])
def test_block_with_impossible_shapes_is_one_error_naming_the_layer(spec, shapes, message):
    from mm_train.nn.compose import build_one
    from mm_train.nn.graph import arity
    many = arity(spec["type"]) != 1
    with pytest.raises(ConfigError) as err:
        build_one(spec, f"network.layers.{spec['type'].lower()}", tuple(shapes) if many else shapes[0])
    assert message in str(err.value)


def test_parameter_without_a_batch_axis_broadcasts_right_aligned_in_a_graph(graph_mode):
    """A [4, 3] weight (no leading 1) multiplies every sample: (N, 5, 4) @ (4, 3) -> (N, 5, 3)."""
    import mindspore as ms
    from mm_train.nn.builder import build_network
    net, infos = build_network({"input_shape": [5, 4], "layers": {
        "w": {"type": "Parameter", "shape": [4, 3], "init": "ones", "inputs": []},
        "neg_w": {"type": "Neg"},
        "proj": {"type": "MatMul", "inputs": ["input", "neg_w"]},
        "token": {"type": "Parameter", "shape": [1, 1, 3], "init": "ones", "inputs": []},
        "tokens": {"type": "BroadcastBatch", "inputs": ["token", "proj"]},
        "seq": {"type": "Concat", "axis": 1, "inputs": ["tokens", "proj"]}}})
    x = np.random.default_rng(0).standard_normal((2, 5, 4)).astype(np.float32)
    got = net(ms.Tensor(x)).asnumpy()
    proj = x @ -np.ones((4, 3))
    np.testing.assert_allclose(got, np.concatenate([np.ones((2, 1, 3)), proj], 1), rtol=1e-5, atol=1e-5)
    assert infos[-1].output_shape == (6, 3)


def test_a_parameter_without_a_batch_axis_cannot_be_concatenated():
    from mm_train.nn.builder import build_network
    with pytest.raises(ConfigError, match=r"network.layers.seq: Concat needs batched inputs"):
        build_network({"input_shape": [5, 4], "layers": {
            "w": {"type": "Parameter", "shape": [5, 4], "inputs": []},
            "seq": {"type": "Concat", "axis": 1, "inputs": ["w", "input"]}}})


def test_blocks_ls_shows_the_graph_blocks_with_their_arguments_and_inputs(capsys):
    from mm_train.commands import main
    assert main(["blocks", "ls", "--kind", "block"]) == 0
    lines = capsys.readouterr().out.splitlines()
    for line in ("  Add()  # inputs: 2 or more", "  Concat(axis=1)  # inputs: 2 or more", "  MatMul()  # inputs: 2",
                 "  Parameter(shape, requires_grad=True, init='zeros')  # inputs: [] (none)",
                 "  BroadcastBatch(shape=None)  # inputs: 2", "  Reshape(shape)", "  Transpose(perm)",
                 "  Gather(index, axis=1)", "  Slice(starts, ends, axes=None, steps=None)",
                 "  ReduceMean(axes=None, keepdims=True)", "  Clip(min=None, max=None)", "  Erf()",
                 "  Flatten(start_dim=1, order='chw')", "  Softmax(axis=-1)", "  Conv2d(out_channels, kernel_size, stride=1, "
                 "pad_mode='same', padding=0, dilation=1, group=1, has_bias=False, weight_init=None, bias_init=None)"):
        assert line in lines, line
