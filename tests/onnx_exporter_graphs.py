"""Window attention as torch's exporters write Swin and MaxViT, built with onnx.helper (no torch): windows
folded into the batch axis (``[N, H, W, C]`` -> ``[N * windows, tokens, C]``), a relative-position bias table
indexed by a constant ``relative_position_index``, and the windows folded back; and Keras-style
preprocessing on a channels-last input before tf2onnx's transpose."""
from __future__ import annotations

import numpy as np

from onnx_graphs import floats, ints, model, node, tensor

WS, HEADS, DIM = 2, 2, 6        # window size, heads, channels: x is [N, 4, 4, 6], 4 windows of 4 tokens
ATTN = "features.1.0.attn"


def relative_position_index(ws: int = WS) -> np.ndarray:
    """Swin's buffer: for each pair of tokens in a window, the row of the bias table of their offset."""
    coords = np.stack(np.meshgrid(np.arange(ws), np.arange(ws), indexing="ij")).reshape(2, -1)
    rel = (coords[:, :, None] - coords[:, None, :]).transpose(1, 2, 0) + (ws - 1)
    return (rel[..., 0] * (2 * ws - 1) + rel[..., 1]).reshape(-1)


def window_attention(shifted_mask: bool = True, picks: str = "gather", folded_table: bool = False):
    """``[N, 3, 4, 4]`` -> ``[N, 4, 4, 6]`` (Transpose, MatMul) -> window partition (Reshape [N, 2, 2, 2, 2, C], Transpose, Reshape [N*4, 4, C]) ->
    qkv Linear, Reshape + Transpose [2, 0, 3, 1, 4] and q, k, v picked by index (``picks``: Gather, or Slice +
    Squeeze) -> scores + the indexed bias table (+ a shifted-window mask through [N, 4, heads, 4, 4]) ->
    Softmax -> window reverse (Reshape, Transpose, Reshape [N, 4, 4, C]) -> + x. ``folded_table``: the table
    lookup folded into a constant, as torch's dynamo exporter writes it (the same function)."""
    tokens, windows = WS * WS, 4
    nodes, inits = [], [tensor("embed.weight", 3, DIM), tensor(f"{ATTN}.qkv.weight", DIM, 3 * DIM), tensor(f"{ATTN}.qkv.bias", 3 * DIM),
                        tensor(f"{ATTN}.proj.weight", DIM, DIM), tensor(f"{ATTN}.proj.bias", DIM),
                        tensor(f"{ATTN}.relative_position_bias_table", (2 * WS - 1) ** 2, HEADS, seed=3),
                        ints(f"{ATTN}.relative_position_index", relative_position_index()),
                        ints("part", [-1, 2, WS, 2, WS, DIM]), ints("flat", [-1, tokens, DIM]),
                        ints("heads", [-1, tokens, 3, HEADS, DIM // HEADS]), ints("square", [tokens, tokens, -1]),
                        ints("unfold", [-1, windows, HEADS, tokens, tokens]), ints("fold", [-1, HEADS, tokens, tokens]),
                        ints("back", [-1, 4, 4, DIM]), ints("ax0", [0]), floats("scale", (DIM // HEADS) ** -0.5)]

    def add(op, inputs, output, **attrs):
        nodes.append(node(op, inputs, [output], name=f"/{ATTN.replace('.', '/')}/{op}_{output}", **attrs))
        return output
    h = add("MatMul", [add("Transpose", ["x"], "nhwc", perm=[0, 2, 3, 1]), "embed.weight"], "embedded")  # [N, 4, 4, C]
    w = add("Reshape", [h, "part"], "w6")
    w = add("Reshape", [add("Transpose", [w], "w6t", perm=[0, 1, 3, 2, 4, 5]), "flat"], "windows")  # [N*4, 4, C]
    qkv = add("Add", [add("MatMul", [w, f"{ATTN}.qkv.weight"], "qkv_mm"), f"{ATTN}.qkv.bias"], "qkv")
    qkv = add("Transpose", [add("Reshape", [qkv, "heads"], "qkv5")], "qkv_t", perm=[2, 0, 3, 1, 4])
    if picks == "gather":
        inits += [ints("i0", 0), ints("i1", 1), ints("i2", 2)]
        q, k, v = (add("Gather", [qkv, f"i{i}"], f"qkv{i}", axis=0) for i in range(3))
    else:
        inits += [ints(f"s{i}", [i]) for i in range(4)]
        q, k, v = (add("Squeeze", [add("Slice", [qkv, f"s{i}", f"s{i + 1}", "ax0"], f"slice{i}"), "ax0"], f"qkv{i}")
                   for i in range(3))
    scores = add("MatMul", [add("Mul", [q, "scale"], "q_scaled"), add("Transpose", [k], "k_t", perm=[0, 1, 3, 2])],
                 "scores")
    if folded_table:
        from onnx import numpy_helper
        table, index = (numpy_helper.to_array(inits.pop(5)) for _ in range(2))   # the table, then the index
        inits.append(floats("bias_g", table[index]))
        bias = "bias_g"
    else:
        bias = add("Gather", [f"{ATTN}.relative_position_bias_table", f"{ATTN}.relative_position_index"], "bias_g",
                   axis=0)
    bias = add("Unsqueeze", [add("Transpose", [add("Reshape", [bias, "square"], "bias_sq")], "bias_t",
                                  perm=[2, 0, 1]), "ax0"], "bias")  # [1, heads, 4, 4]
    scores = add("Add", [scores, bias], "biased")
    if shifted_mask:
        mask = np.where(np.random.default_rng(5).random((1, windows, 1, tokens, tokens)) < 0.3, -100.0, 0.0)
        inits.append(floats("attn_mask", mask))
        scores = add("Reshape", [add("Add", [add("Reshape", [scores, "unfold"], "per_window"), "attn_mask"],
                                     "masked"), "fold"], "refolded")
    att = add("MatMul", [add("Softmax", [scores], "probs", axis=-1), v], "att")               # [N*4, heads, 4, d]
    att = add("Reshape", [add("Transpose", [att], "att_t", perm=[0, 2, 1, 3]), "flat"], "merged")
    out = add("Add", [add("MatMul", [att, f"{ATTN}.proj.weight"], "proj_mm"), f"{ATTN}.proj.bias"], "proj")
    out = add("Reshape", [out, "part"], "r6")
    out = add("Reshape", [add("Transpose", [out], "r6t", perm=[0, 1, 3, 2, 4, 5]), "back"], "reversed")
    nodes.append(node("Add", [out, h], ["y"]))
    return model(nodes, inits, x_shape=[3, 4, 4])


def window_classifier(**options):
    """:func:`window_attention` (``options``) then a mean over the tokens and a classifier of 10 classes (a graph
    that trains)."""
    built = window_attention(**options)
    from onnx import helper
    graph = built.graph
    for n in graph.node:
        n.output[:] = ["h" if o == "y" else o for o in n.output]
    graph.node.extend([node("ReduceMean", ["h"], ["pooled"], axes=[1, 2], keepdims=0),
                       node("Gemm", ["pooled", "head.weight", "head.bias"], ["y"], transB=1)])
    graph.initializer.extend([tensor("head.weight", 10, DIM), tensor("head.bias", 10)])
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info("y", 1, ["N", 10]))
    return built


def nhwc_preprocessing(keras_names: bool = True):
    """A Keras model as tf2onnx writes it with preprocessing layers (EfficientNet's Rescaling and
    Normalization) on the channels-last input before the NHWC -> NCHW Transpose: ``(x * 1/255 - mean) / sqrt(var)``
    with per-channel constants of shape [3], then the Transpose, a Conv and the Transpose back."""
    mean, var = [0.485, 0.456, 0.406], [0.229 ** 2, 0.224 ** 2, 0.225 ** 2]
    rescale, shift, recip = "model/rescaling/Cast/x:0", "model/normalization/sub/y:0", "model/normalization/truediv:0"
    nodes = [node("Mul", ["x", rescale], ["scaled"]), node("Sub", ["scaled", shift], ["centred"]),
             node("Div", ["centred", recip], ["normed"]), node("Transpose", ["normed"], ["nchw"], perm=[0, 3, 1, 2]),
             node("Conv", ["nchw", "model/stem_conv/kernel:0", "model/stem_conv/bias:0"], ["conv"], pads=[1, 1, 1, 1]),
             node("Transpose", ["conv"], ["y"], perm=[0, 2, 3, 1])]
    inits = [floats(rescale, 1 / 255), floats(shift, np.reshape(mean, (1, 1, 1, 3))), floats(recip, np.sqrt(var)),
             tensor("model/stem_conv/kernel:0", 4, 3, 3, 3), tensor("model/stem_conv/bias:0", 4)]
    return model(nodes, inits, x_shape=[6, 6, 3])
