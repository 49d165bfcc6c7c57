"""Small ONNX graphs built with onnx.helper for the converter's tests (no torch): one per op type the
converter supports, and a few whole networks. Every graph takes ``x`` and gives ``y``."""
from __future__ import annotations

from pathlib import Path

import numpy as np

X_SHAPE = [3, 6, 6]      # one sample of x, unless a graph says otherwise


def _rng(seed: int = 0):
    return np.random.default_rng(seed)


def tensor(name: str, *shape: int, positive: bool = False, seed: int = 0):
    from onnx import numpy_helper
    value = _rng(seed + len(name)).standard_normal(shape).astype(np.float32) * 0.5
    if positive:
        value = np.abs(value) + 0.5
    return numpy_helper.from_array(value, name)


def ints(name: str, values) -> object:
    from onnx import numpy_helper
    return numpy_helper.from_array(np.asarray(values, np.int64), name)


def floats(name: str, values) -> object:
    from onnx import numpy_helper
    return numpy_helper.from_array(np.asarray(values, np.float32), name)


def node(op: str, inputs, outputs, name: str | None = None, **attrs):
    from onnx import helper
    return helper.make_node(op, list(inputs), list(outputs), name=name or f"/{op}_{outputs[0]}", **attrs)


def model(nodes, inits=(), x_shape=X_SHAPE, opset: int = 17, batch="N"):
    from onnx import TensorProto, helper
    graph = helper.make_graph(list(nodes), "test", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                                  [batch, *x_shape])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], list(inits))
    built = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    built.ir_version = 8
    import onnx
    inferred = onnx.shape_inference.infer_shapes(built)   # the checker wants the output's shape
    built.graph.output[0].CopyFrom(inferred.graph.output[0])
    return built


def bn(prefix: str, channels: int):
    """The four BatchNorm initializers torch's legacy exporter writes (non-trivial statistics)."""
    return [tensor(f"{prefix}.weight", channels, positive=True), tensor(f"{prefix}.bias", channels),
            tensor(f"{prefix}.running_mean", channels), tensor(f"{prefix}.running_var", channels, positive=True)]


def bn_inputs(prefix: str) -> list[str]:
    return [f"{prefix}.weight", f"{prefix}.bias", f"{prefix}.running_mean", f"{prefix}.running_var"]


def unary(op: str, **attrs):
    return model([node(op, ["x"], ["y"], **attrs)])


def on_positive(op: str, **attrs):
    """``op(|x| + 0.5)``: for ops defined on positive numbers."""
    return model([node("Abs", ["x"], ["a"]), node("Add", ["a", "half"], ["p"]), node(op, ["p"], ["y"], **attrs)],
                 [floats("half", 0.5)])


def binary(op: str):
    """``op(x, relu(x))`` and ``op(.., 0.5)`` and ``op(.., parameter)``: two layers, a constant, a parameter."""
    positive = op in ("Div", "Pow")
    nodes = [node("Abs", ["x"], ["a"]), node("Add", ["a", "half"], ["p"])] if positive else \
        [node("Identity", ["x"], ["p"])]
    nodes += [node("Relu", ["p"], ["r"]), node(op, ["p", "r" if not positive else "p"], ["t"]),
              node(op, ["t", "half"], ["u"]), node(op, ["u", "scale.weight"], ["y"])]
    return model(nodes, [floats("half", 0.5), tensor("scale.weight", 1, 6, 1, positive=True)])


def conv(**attrs):
    inits = [tensor("conv1.weight", 8, 3 // attrs.get("group", 1), 3, 3), tensor("conv1.bias", 8)]
    if attrs.get("group"):
        inits[0] = tensor("conv1.weight", 6, 1, 3, 3)
        inits[1] = tensor("conv1.bias", 6)
    return model([node("Conv", ["x", "conv1.weight", "conv1.bias"], ["y"], name="/conv1/Conv", **attrs)], inits)


def conv_bn_relu():
    """torchvision's Conv2dNormActivation: ``features.0.0`` conv, ``features.0.1`` BatchNorm, ReLU."""
    return model([node("Conv", ["x", "features.0.0.weight"], ["c"], pads=[1, 1, 1, 1], strides=[2, 2]),
                  node("BatchNormalization", ["c", *bn_inputs("features.0.1")], ["b"], epsilon=1e-3),
                  node("Relu", ["b"], ["y"])], [tensor("features.0.0.weight", 8, 3, 3, 3), *bn("features.0.1", 8)])


def pool(op: str, **attrs):
    return model([node(op, ["x"], ["y"], **attrs)])


def gemm(trans_b: int = 1):
    shape = (5, 108) if trans_b else (108, 5)
    return model([node("Flatten", ["x"], ["f"], axis=1),
                  node("Gemm", ["f", "fc.weight", "fc.bias"], ["y"], name="/fc/Gemm", transB=trans_b, alpha=0.5)],
                 [tensor("fc.weight", *shape), tensor("fc.bias", 5)])


def matmul_linear():
    """torch's 3-d ``nn.Linear`` as the legacy exporter writes it: MatMul with an unnamed W^T, then Add bias."""
    return model([node("MatMul", ["x", "onnx::MatMul_7"], ["m"], name="/mlp/mlp.0/MatMul"),
                  node("Add", ["mlp.0.bias", "m"], ["y"], name="/mlp/mlp.0/Add")],
                 [tensor("onnx::MatMul_7", 6, 4), tensor("mlp.0.bias", 4)])


def matmul_layers():
    return model([node("Transpose", ["x"], ["t"], perm=[0, 2, 1]), node("MatMul", ["x", "t"], ["y"])], x_shape=[4, 6])


def layer_norm():
    return model([node("LayerNormalization", ["x", "norm.weight", "norm.bias"], ["y"], name="/norm/LN",
                       epsilon=1e-6)], [tensor("norm.weight", 6, positive=True), tensor("norm.bias", 6)],
                 x_shape=[4, 6])


def dynamic_reshape():
    """``x.view(x.size(0), -1)`` as the legacy exporter writes it: Shape, Gather, Unsqueeze, Concat, Reshape."""
    return model([node("Shape", ["x"], ["s"]), node("Gather", ["s", "zero"], ["n"], axis=0),
                  node("Unsqueeze", ["n", "axes0"], ["n1"]), node("Concat", ["n1", "minus1"], ["shape"], axis=0),
                  node("Reshape", ["x", "shape"], ["y"])],
                 [ints("zero", 0), ints("axes0", [0]), ints("minus1", [-1])])


def class_token():
    """ViT's class token and position embedding: parameters of the source, expanded to the batch."""
    return model([node("Shape", ["x"], ["s"]), node("Gather", ["s", "zero"], ["n"], axis=0),
                  node("Unsqueeze", ["n", "axes0"], ["n1"]), node("Concat", ["n1", "ones"], ["shape"], axis=0),
                  node("Expand", ["class_token", "shape"], ["cls"]),
                  node("Concat", ["cls", "x"], ["c"], axis=1),
                  node("Add", ["c", "encoder.pos_embedding"], ["y"])],
                 [ints("zero", 0), ints("axes0", [0]), ints("ones", [1, 6]), tensor("class_token", 1, 1, 6),
                  tensor("encoder.pos_embedding", 1, 5, 6)], x_shape=[4, 6])


def inception():
    """A branching, concatenating block with a residual Add: the graph the chain recipes could not say."""
    inits = [tensor("b1.weight", 4, 3, 1, 1), tensor("b2.0.weight", 2, 3, 1, 1), tensor("b2.1.weight", 4, 2, 3, 3),
             tensor("proj.weight", 8, 3, 1, 1), tensor("fc.weight", 10, 8), tensor("fc.bias", 10), *bn("bn", 8)]
    return model([
        node("Conv", ["x", "b1.weight"], ["b1"], name="/b1/Conv"),
        node("Conv", ["x", "b2.0.weight"], ["b20"], name="/b2/b2.0/Conv"),
        node("Relu", ["b20"], ["b2r"], name="/b2/relu/Relu"),
        node("Conv", ["b2r", "b2.1.weight"], ["b21"], pads=[1, 1, 1, 1], name="/b2/b2.1/Conv"),
        node("Concat", ["b1", "b21"], ["cat"], axis=1, name="/Concat"),
        node("Conv", ["x", "proj.weight"], ["proj"], name="/proj/Conv"),
        node("Add", ["cat", "proj"], ["s"], name="/Add"),
        node("BatchNormalization", ["s", *bn_inputs("bn")], ["b"], name="/bn/BatchNormalization"),
        node("Relu", ["b"], ["r"], name="/relu/Relu"),
        node("GlobalAveragePool", ["r"], ["g"], name="/avgpool/GlobalAveragePool"),
        node("Flatten", ["g"], ["f"], axis=1, name="/Flatten"),
        node("Gemm", ["f", "fc.weight", "fc.bias"], ["y"], transB=1, name="/fc/Gemm")], inits)


def bn_folded():
    """What torch's dynamo exporter writes for conv + BatchNorm: one Conv with a bias, no BatchNormalization."""
    return model([node("Conv", ["x", "conv1.weight", "conv1.bias"], ["c"], pads=[1, 1, 1, 1], name="node_Conv_0"),
                  node("Relu", ["c"], ["r"], name="node_relu"),
                  node("GlobalAveragePool", ["r"], ["g"]), node("Flatten", ["g"], ["f"], axis=1),
                  node("Gemm", ["f", "fc.weight", "fc.bias"], ["y"], transB=1)],
                 [tensor("conv1.weight", 8, 3, 3, 3), tensor("conv1.bias", 8), tensor("fc.weight", 10, 8),
                  tensor("fc.bias", 10)])



def tiny_vit(dim: int = 8, heads: int = 2, classes: int = 10, folded_class_token: bool = False):
    """A one-layer ViT on 8x8 images as torch's legacy exporter writes torchvision's VisionTransformer
    (``dynamo=False, do_constant_folding=False``): the batch read with Shape/Gather, the class token
    expanded to it, and nn.MultiheadAttention sequence-first with the heads in the batch axis (Transpose
    [1, 0, 2], in_proj MatMul + Add, Reshape/Unsqueeze/Transpose/Squeeze/Gather into q, k, v, each scaled by
    sqrt(1/sqrt(head_dim)), MatMul, Softmax, MatMul, Transpose [2, 0, 1, 3], out_proj Gemm, Transpose back).
    ``folded_class_token``: as torch's dynamo exporter, a batch of 2 fixed and the class token expanded to it
    folded into one constant ``expand`` [2, 1, dim]."""
    tokens, hd, sa = 5, dim // heads, "encoder.layers.encoder_layer_0.self_attention"
    nodes, inits = [], [tensor("conv_proj.weight", dim, 3, 4, 4), tensor("conv_proj.bias", dim),
                        tensor("class_token", 1, 1, dim), tensor("encoder.pos_embedding", 1, tokens, dim),
                        tensor("ln.weight", dim, positive=True), tensor("ln.bias", dim),
                        tensor(f"{sa}.in_proj_weight", 3 * dim, dim), tensor(f"{sa}.in_proj_bias", 3 * dim),
                        tensor(f"{sa}.out_proj.weight", dim, dim), tensor(f"{sa}.out_proj.bias", dim),
                        tensor("heads.head.weight", classes, dim), tensor("heads.head.bias", classes),
                        ints("i0", 0), ints("i1", 1), ints("i2", 2), ints("ax0", [0]), ints("ax3", [3]),
                        ints("ones", [1, 1]), ints("heads", heads), floats("scale", np.sqrt(1 / np.sqrt(hd)))]

    def add(op, inputs, output, **attrs):
        nodes.append(node(op, inputs, [output], name=f"/{output}/{op}", **attrs))
        return output

    def dims(*parts):   # a shape tensor of numbers and batch-dependent scalars, as the exporter builds it
        pieces = []
        for i, part in enumerate(parts):
            if isinstance(part, int):
                inits.append(ints(f"c{len(inits)}", [part]))
                pieces.append(inits[-1].name)
            else:
                pieces.append(add("Unsqueeze", [part, "ax0"], f"u{len(nodes)}"))
        return add("Concat", pieces, f"shape{len(nodes)}", axis=0)

    n = add("Gather", [add("Shape", ["x"], "xs"), "i0"], "n", axis=0)
    patches = add("Reshape", [add("Conv", ["x", "conv_proj.weight", "conv_proj.bias"], "conv", kernel_shape=[4, 4],
                                  strides=[4, 4]), dims(n, dim, -1)], "patches")
    seq = add("Transpose", [patches], "seq", perm=[0, 2, 1])
    if folded_class_token:
        cls = "expand"
        inits.append(tensor("expand", 1, 1, dim))
        inits[-1].CopyFrom(floats("expand", np.repeat(_rng(3).standard_normal((1, 1, dim)), 2, axis=0)))
    else:
        cls = add("Expand", ["class_token", add("Concat", [add("Unsqueeze", [n, "ax0"], "n1"), "ones"], "cshape",
                                                axis=0)], "cls")
    h = add("Add", [add("Concat", [cls, seq], "cat", axis=1), "encoder.pos_embedding"], "encoder")
    ln = add("LayerNormalization", [h, "ln.weight", "ln.bias"], "ln", axis=-1, epsilon=1e-6)
    t = add("Transpose", [ln], f"{sa}.t", perm=[1, 0, 2])                       # (T, N, D)
    nb = add("Gather", [add("Shape", [t], "ts"), "i1"], "nb", axis=0)
    nh = add("Mul", [nb, "heads"], "nh")
    w = add("Transpose", [f"{sa}.in_proj_weight"], "wt", perm=[1, 0])
    qkv = add("Add", [f"{sa}.in_proj_bias", add("MatMul", [t, w], "proj")], "qkv")
    qkv = add("Reshape", [qkv, dims(tokens, nb, 3, dim)], "qkv4")
    qkv = add("Squeeze", [add("Transpose", [add("Unsqueeze", [qkv, "ax0"], "qkv5")], "qkvt", perm=[3, 1, 2, 0, 4]),
                          "ax3"], "qkvs")
    q, k, v = (add("Transpose", [add("Reshape", [add("Gather", [qkv, idx], f"g{idx}", axis=0),
                                                 dims(tokens, nh, hd)], f"r{idx}")], f"t{idx}", perm=[1, 0, 2])
               for idx in ("i0", "i1", "i2"))
    q, k, v = (add("Reshape", [a, dims(nb, heads, tokens, hd)], f"{a}4") for a in (q, k, v))
    k = add("Transpose", [k], "kt", perm=[0, 1, 3, 2])
    scores = add("MatMul", [add("Mul", [q, "scale"], "qs"), add("Mul", [k, "scale"], "ks")], "scores")
    att = add("MatMul", [add("Softmax", [scores], "weights", axis=-1), v], "att")
    merged = add("Reshape", [add("Transpose", [att], "att_t", perm=[2, 0, 1, 3]), dims(-1, dim)], "merged")
    out = add("Gemm", [merged, f"{sa}.out_proj.weight", f"{sa}.out_proj.bias"], "out_proj", transB=1)
    out = add("Transpose", [add("Reshape", [out, dims(tokens, nb, dim)], "out3")], "out_t", perm=[1, 0, 2])
    first = add("Gather", [add("Add", [out, h], "residual"), "i0"], "first", axis=1)
    nodes.append(node("Gemm", [first, "heads.head.weight", "heads.head.bias"], ["y"], transB=1, name="/heads/Gemm"))
    return model(nodes, inits, x_shape=[3, 8, 8], batch=2 if folded_class_token else "N")

# op type -> the graph that shows it (several rows may show one op type)
OP_GRAPHS = {
    "Conv": lambda: conv(pads=[1, 1, 1, 1], strides=[2, 2]),
    "Conv grouped dilated": lambda: conv(group=3, dilations=[2, 2], pads=[2, 1, 2, 1]),
    "Conv same": lambda: conv(auto_pad="SAME_UPPER", strides=[2, 2]),
    "BatchNormalization": lambda: model([node("BatchNormalization", ["x", *bn_inputs("bn")], ["y"])], bn("bn", 3)),
    "Conv+BatchNormalization+Relu": conv_bn_relu,
    "Gemm": gemm,
    "Gemm transB=0": lambda: gemm(0),
    "MatMul": matmul_linear,
    "MatMul of two layers": matmul_layers,
    "MatMul with a transposed source weight": lambda: model(  # the legacy exporter, do_constant_folding=False
        [node("Transpose", ["fc.weight"], ["wt"], perm=[1, 0]), node("MatMul", ["x", "wt"], ["y"])],
        [tensor("fc.weight", 5, 6)], x_shape=[4, 6]),
    "Reshape through the batch": lambda: model(   # dynamo's as_strided: a flat [N*C], then a Gather of it
        [node("ReduceMean", ["x", "axes"], ["m"], keepdims=1), node("Reshape", ["m", "flat"], ["f"]),
         node("Gather", ["f", "idx"], ["y"], axis=0)],
        [ints("axes", [2, 3]), ints("flat", [-1]), ints("idx", np.arange(6).reshape(2, 3, 1, 1))], opset=18, batch=2),
    "LayerNormalization": layer_norm,
    "Relu": lambda: unary("Relu"),
    "Sigmoid": lambda: unary("Sigmoid"),
    "Sigmoid+Mul (SiLU)": lambda: model([node("Sigmoid", ["x"], ["s"]), node("Mul", ["x", "s"], ["y"])]),
    "Tanh": lambda: unary("Tanh"),
    "HardSwish": lambda: unary("HardSwish"),
    "HardSigmoid": lambda: unary("HardSigmoid", alpha=1 / 6, beta=0.5),
    "LeakyRelu": lambda: unary("LeakyRelu", alpha=0.1),
    "Gelu": lambda: model([node("Gelu", ["x"], ["y"])], opset=20),
    "Erf": lambda: unary("Erf"),
    "Exp": lambda: unary("Exp"),
    "Neg": lambda: unary("Neg"),
    "Abs": lambda: unary("Abs"),
    "Sqrt": lambda: on_positive("Sqrt"),
    "Reciprocal": lambda: on_positive("Reciprocal"),
    "Clip": lambda: model([node("Clip", ["x", "lo", "hi"], ["y"])], [floats("lo", -0.5), floats("hi", 0.7)]),
    "Clip 0 6": lambda: model([node("Clip", ["x", "lo", "hi"], ["y"])], [floats("lo", 0), floats("hi", 6)]),
    "Softmax": lambda: unary("Softmax", axis=1),
    "Add": lambda: binary("Add"),
    "Sub": lambda: binary("Sub"),
    "Mul": lambda: binary("Mul"),
    "Div": lambda: binary("Div"),
    "Pow": lambda: binary("Pow"),
    "MaxPool": lambda: pool("MaxPool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1),
    "MaxPool same": lambda: pool("MaxPool", kernel_shape=[2, 2], strides=[2, 2], auto_pad="SAME_UPPER"),
    "AveragePool": lambda: pool("AveragePool", kernel_shape=[3, 3], strides=[2, 2], pads=[0, 0, 1, 1]),
    "AveragePool count_include_pad": lambda: pool("AveragePool", kernel_shape=[3, 3], strides=[1, 1],
                                                  pads=[1, 1, 1, 1], count_include_pad=1),
    "GlobalAveragePool": lambda: pool("GlobalAveragePool"),
    "ReduceMean": lambda: model([node("ReduceMean", ["x"], ["y"], axes=[2, 3], keepdims=0)]),
    "ReduceMean opset 18": lambda: model([node("ReduceMean", ["x", "axes"], ["y"], keepdims=1)],
                                         [ints("axes", [-1])], opset=18),
    "ReduceSum": lambda: model([node("ReduceSum", ["x", "axes"], ["y"], keepdims=1)], [ints("axes", [1])]),
    "Reshape": dynamic_reshape,
    "Flatten": lambda: model([node("Flatten", ["x"], ["y"], axis=1)]),
    "Squeeze": lambda: model([node("ReduceMean", ["x"], ["m"], axes=[3], keepdims=1),
                              node("Squeeze", ["m", "axes"], ["y"])], [ints("axes", [3])]),
    "Unsqueeze": lambda: model([node("Unsqueeze", ["x", "axes"], ["y"])], [ints("axes", [2])]),
    "Transpose": lambda: model([node("Transpose", ["x"], ["y"], perm=[0, 2, 3, 1])]),
    "Concat": lambda: model([node("Relu", ["x"], ["r"]), node("Concat", ["x", "r"], ["y"], axis=-1)]),
    "Concat of one input": lambda: model([node("Concat", ["x"], ["c"], axis=1), node("Relu", ["c"], ["y"])]),
    "Slice": lambda: model([node("Slice", ["x", "st", "en", "ax", "sp"], ["y"])],
                           [ints("st", [1, 0]), ints("en", [3, 99]), ints("ax", [1, 3]), ints("sp", [1, 2])]),
    "Split": lambda: model([node("Split", ["x", "sizes"], ["a", "b"], axis=2), node("Mul", ["a", "b"], ["y"])],
                           [ints("sizes", [3, 3])]),
    "Gather": lambda: model([node("Gather", ["x", "i"], ["y"], axis=1)], [ints("i", 0)], x_shape=[4, 6]),
    "Expand": class_token,
    "Pad": lambda: model([node("Pad", ["x", "pads", "v"], ["y"], mode="constant")],
                         [ints("pads", [0, 0, 1, 2, 0, 0, 2, 1]), floats("v", 0.25)]),
    "Pad edge": lambda: model([node("Pad", ["x", "pads"], ["y"], mode="edge")],
                              [ints("pads", [0, 0, 1, 2, 0, 0, 2, 1])]),
    "Pad reflect": lambda: model([node("Pad", ["x", "pads"], ["y"], mode="reflect")],
                                 [ints("pads", [0, 0, 1, 2, 0, 0, 2, 1])]),
    "Identity": lambda: model([node("Identity", ["x"], ["i"]), node("Relu", ["i"], ["y"])]),
    "Dropout": lambda: model([node("Dropout", ["x"], ["d"]), node("Relu", ["d"], ["y"])]),
    "Cast": lambda: model([node("Cast", ["x"], ["c"], to=1), node("Relu", ["c"], ["y"])]),
    "Constant": lambda: model([node("Constant", [], ["k"], value_float=1.5), node("Mul", ["x", "k"], ["y"])]),
    "Shape": dynamic_reshape,
    "Einsum": lambda: model([node("Relu", ["x"], ["r"]),   # MaxViT's attention as the legacy exporter writes it
                             node("Einsum", ["x", "r"], ["y"], equation="b h i d, b h j d -> b h i j")],
                            x_shape=[3, 4, 5], opset=17),
    "Einsum+Transpose": lambda: model([node("Einsum", ["x", "x"], ["y"], equation="bhij,bhjd->bhid")],
                                      x_shape=[3, 4, 4], opset=17),
}


def save(built, folder: Path, name: str = "model.onnx") -> Path:
    import onnx
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    onnx.save(built, str(path))
    return path
