"""One converter per ONNX op type (and opset where the op changed), looked up by table.

    @converter("Relu")
    def relu(ctx, node):
        ctx.add(node, {"type": "ReLU"}, [ctx.layer_of(node.input[0])])

A converter reads the node (``ctx.attrs``, ``ctx.array`` for constant inputs, ``ctx.shape`` for static
shapes with the batch axis first) and adds layers with ``ctx.add``; it raises ``Unsupported`` for what it
cannot map. ``converter_for(op_type, opset)`` picks the newest converter whose ``since`` <= the opset.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from mm_train.core.errors import closest
from mm_train.migrate.onnx.translate import INPUT, Context, Unsupported, module_path

CONVERTERS: dict[str, list[tuple[int, Callable]]] = {}
NEAREST = {
    "ConvTranspose": "Conv2dTranspose (mindspore.nn; not a registered block yet)",
    "Resize": "an upsampling block (not registered yet); classifiers rarely need it",
    "Upsample": "an upsampling block (not registered yet)",
    "LSTM": "mindspore.nn.LSTM (not a registered block yet)",
    "GRU": "mindspore.nn.GRU (not a registered block yet)",
    "Einsum": "MatMul with Transpose / Reshape (re-export with the einsum written as matmul); batched matrix "
              "products convert",
    "LRN": "mindspore.nn.LRN (not a registered block yet)",
    "NonZero": "none: data-dependent shapes cannot be a static network",
    "Loop": "none: unroll the loop before export",
    "If": "none: export the branch the classifier takes",
}


def converter(op_type: str, since: int = 1):
    def register(fn):
        CONVERTERS.setdefault(op_type, []).append((since, fn))
        CONVERTERS[op_type].sort(key=lambda item: item[0])
        return fn
    return register


def converter_for(op_type: str, opset: int):
    found = None
    for since, fn in CONVERTERS.get(op_type, []):
        if since <= opset:
            found = fn
    return found


def supported() -> list[str]:
    return sorted(CONVERTERS)


def nearest(op_type: str) -> str:
    if op_type in NEAREST:
        return NEAREST[op_type]
    hits = closest(op_type, CONVERTERS)
    return f"did you mean {' or '.join(hits)}? (no converter for {op_type})" if hits else "none registered"


def f32(value) -> float:
    """A float32 attribute as the shortest decimal that reads back as the same float32 (1e-05, not 9.99e-06)."""
    return float(str(np.float32(value)))


def _size(values) -> int | list[int]:
    """[3, 3] -> 3 (as a recipe writes it); [1, 7] stays a list."""
    values = [int(v) for v in values]
    return values[0] if len(set(values)) == 1 else values


def _data(ctx: Context, node, i: int = 0) -> str:
    return ctx.layer_of(node.input[i])


def folded(ctx: Context, tensor: str) -> int:
    """How many rows of ``tensor``'s first axis belong to one sample: 1 for ``[batch, ...]``, ``k`` when a
    reshape folded another axis into the batch (window attention's ``[batch * windows, tokens, C]``). The
    recipe keeps such a tensor as ``[batch, k, ...]``: its layers never mix samples, only the axes move by one."""
    shape = ctx.shape(tensor)
    if not shape or shape[0] % ctx.batch:
        raise Unsupported(f"'{tensor}' of shape {list(shape)} does not keep the batch as its first axis (nor "
                          f"folded into it)", "a graph whose every tensor is [batch, ...] or [batch * k, ...]")
    return shape[0] // ctx.batch


def _is_folded(ctx: Context, tensor: str) -> bool:
    return not (ctx.is_const(tensor) and tensor not in ctx.source) and folded(ctx, tensor) > 1


def _per_sample(ctx: Context, tensor: str) -> list[int]:
    """The recipe's per-sample shape of ``tensor``: ``[k, ...]`` when ``k`` rows belong to one sample."""
    k = folded(ctx, tensor)
    return ([k] if k > 1 else []) + [int(s) for s in ctx.shape(tensor)[1:]]


def _axis(axis: int, rank: int, ctx: Context | None = None, tensor: str | None = None) -> int:
    """ONNX ``axis`` of a rank-``rank`` tensor as the recipe's axis (one more on a batch-folded ``tensor``)."""
    axis = int(axis) + rank if int(axis) < 0 else int(axis)
    if axis == 0:
        raise Unsupported("an operation over the batch axis", "keep the batch axis out of the model's arithmetic")
    return axis + 1 if ctx is not None and not ctx.is_const(tensor) and folded(ctx, tensor) > 1 else axis


def _perm(ctx: Context, tensor: str, perm: list[int]) -> list[int]:
    """An ONNX perm that keeps axis 0 first, as the recipe's perm of the (maybe batch-folded) ``tensor``."""
    if folded(ctx, tensor) == 1:
        return list(perm)
    return [0, 1] + [p + 1 for p in perm[1:]]


# -- constants and no-ops ---------------------------------------------------------------------------------
@converter("Constant")
def constant(ctx, node):
    from onnx import numpy_helper
    attrs = ctx.attrs(node)
    if "value" in attrs:
        value = numpy_helper.to_array(attrs["value"])
    else:
        key = next((k for k in ("value_float", "value_floats", "value_int", "value_ints") if k in attrs), None)
        if key is None:
            raise Unsupported(f"Constant with {sorted(attrs)}")
        value = np.asarray(attrs[key], np.float32 if "float" in key else np.int64)
    ctx.const[node.output[0]] = value
    ctx.record(node, "computed here (constant)")


def channels_last_prefix(ctx) -> None:
    """Per-channel operations on a channels-last input before tf2onnx's NHWC -> NCHW transpose (Keras's
    Rescaling and Normalization layers) as ConstantOp layers after it: they commute with the transpose, and the
    recipe's network takes NCHW."""
    if not ctx.nhwc_prefix:
        return
    transposed = next(t for t, layer in ctx.source.items() if layer == INPUT and t != ctx.input.name)
    layer = INPUT
    for node, op, value, reverse in ctx.nhwc_prefix:
        plain = f32(value) if value.ndim == 0 else [[[f32(v)]] for v in value.reshape(-1)]
        layer = ctx.add(node, {"type": "ConstantOp", "op": op, "value": plain, **({"reverse": True} if reverse else {})},
                        [layer], output=f"{node.output[0]}#channels_first")
    ctx.source[transposed] = layer


@converter("Shape")
def shape(ctx, node):
    attrs = ctx.attrs(node)
    full = list(ctx.shape(node.input[0]))
    ctx.const[node.output[0]] = np.asarray(full[attrs.get("start", 0):attrs.get("end", len(full))], np.int64)
    ctx.record(node, "computed here (static shape)")


@converter("Identity")
def identity(ctx, node):
    ctx.alias(node, node.input[0])


@converter("Dropout")
def dropout(ctx, node):
    ratio = f32(ctx.array(node.input[1])) if len(node.input) > 1 and node.input[1] else \
        f32(ctx.attrs(node).get("ratio", 0.5))
    if len(node.output) > 1 and node.output[1] and ctx.consumers.get(node.output[1]):
        raise Unsupported("Dropout's mask output is used")
    ctx.add(node, {"type": "Dropout", "p": ratio}, [_data(ctx, node)])


@converter("Cast")
def cast(ctx, node):
    to = ctx.attrs(node)["to"]
    if to not in (1, 11, 10):      # float, double, float16
        raise Unsupported(f"Cast of data to type {to}", "float data throughout the network")
    ctx.alias(node, node.input[0], "removed (float stays float32)")


# -- convolution, normalisation, dense --------------------------------------------------------------------
def _conv_args(ctx, node) -> tuple[dict, dict]:
    attrs = ctx.attrs(node)
    weight = np.asarray(ctx.array(node.input[1]))
    if weight.ndim != 4:
        raise Unsupported(f"{weight.ndim - 2}-d convolution", "Conv2d (only 2-d convolutions have a block)")
    spec = {"out_channels": int(weight.shape[0]), "kernel_size": _size(weight.shape[2:])}
    strides = _size(attrs.get("strides", [1, 1]))
    dilations = _size(attrs.get("dilations", [1, 1]))
    auto_pad = attrs.get("auto_pad", b"NOTSET")
    auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
    if strides != 1:
        spec["stride"] = strides
    if dilations != 1:
        spec["dilation"] = dilations
    if int(attrs.get("group", 1)) != 1:
        spec["group"] = int(attrs["group"])
    if auto_pad == "SAME_UPPER":
        spec["pad_mode"] = "same"
    elif auto_pad == "VALID":
        spec["pad_mode"] = "valid"
    elif auto_pad == "NOTSET":
        t, l, b, r = (int(p) for p in attrs.get("pads", [0, 0, 0, 0]))
        spec["pad_mode"], spec["padding"] = ("pad", [t, b, l, r]) if any((t, l, b, r)) else ("valid", [0, 0, 0, 0])
    else:
        raise Unsupported(f"auto_pad {auto_pad}", "explicit pads (re-export)")
    params = {"weight": weight}
    if len(node.input) > 2 and node.input[2]:
        spec["has_bias"] = True
        params["bias"] = ctx.array(node.input[2])
    return spec, params


def _bn_params(ctx, node) -> tuple[dict, dict]:
    attrs = ctx.attrs(node)
    if attrs.get("training_mode", 0) and any(o and ctx.consumers.get(o) for o in node.output[1:]):
        raise Unsupported("BatchNormalization's running statistics outputs are used")
    if not all(ctx.is_const(i) for i in node.input[1:5]):
        raise Unsupported("BatchNormalization with computed statistics")
    scale, bias, mean, var = (np.asarray(ctx.array(i)) for i in node.input[1:5])
    spec = {"eps": f32(attrs.get("epsilon", 1e-5))}
    if f32(attrs.get("momentum", 0.9)) != 0.9:   # the blocks' default
        spec["momentum"] = f32(attrs["momentum"])
    return spec, {"gamma": scale, "beta": bias, "moving_mean": mean, "moving_variance": var}


ACTIVATION_OF = {"Relu": "ReLU", "Sigmoid": "Sigmoid", "HardSwish": "HSwish"}


def silu_pair(ctx, tensor: str):
    """``(sigmoid, mul)`` when ``tensor`` feeds exactly ``Mul(tensor, Sigmoid(tensor))`` (SiLU, as torch exports it)."""
    users = ctx.consumers.get(tensor, [])
    if len(users) != 2 or None in users:
        return None
    sigmoid = next((u for u in users if u.op_type == "Sigmoid"), None)
    mul = next((u for u in users if u.op_type == "Mul"), None)
    if sigmoid is None or mul is None or sorted(mul.input) != sorted([tensor, sigmoid.output[0]]):
        return None
    if len(ctx.consumers.get(sigmoid.output[0], [])) != 1:
        return None
    return sigmoid, mul


def _activation(ctx, node) -> str | None:
    if node.op_type in ACTIVATION_OF:
        return ACTIVATION_OF[node.op_type]
    if node.op_type == "Clip" and _clip_range(ctx, node) == (0.0, 6.0):
        return "ReLU6"
    return None


def _fusable(ctx, conv, bn) -> tuple[str, str, str] | None:
    """``(layer, conv child, bn child)`` when conv and bn are the only parameters of one source module
    (torchvision's ``Conv2dNormActivation``: ``features.0.0``, ``features.0.1``)."""
    conv_path, bn_path = module_path(conv.input[1]), module_path(bn.input[1])
    if not conv_path or not bn_path:
        return None
    parent, _, conv_child = conv_path.rpartition(".")
    bn_parent, _, bn_child = bn_path.rpartition(".")
    if not parent or parent != bn_parent or conv_child == bn_child or parent in ctx.layers:
        return None
    own = [n for n in ctx.init if n.startswith(parent + ".")]
    if any(not (n.startswith(conv_path + ".") or n.startswith(bn_path + ".")) for n in own):
        return None
    return parent, conv_child, bn_child


@converter("Conv")
def conv(ctx, node):
    if not ctx.is_const(node.input[1]):
        raise Unsupported("a convolution whose weights are computed", "weights stored as initializers")
    spec, params = _conv_args(ctx, node)
    bn = ctx.only_consumer(node.output[0], ("BatchNormalization",))
    if bn is not None and all(ctx.is_const(i) for i in bn.input[1:5]):
        act = ctx.only_consumer(bn.output[0], ("Relu", "Clip", "Sigmoid", "HardSwish"))
        activation = _activation(ctx, act) if act is not None else None
        silu = silu_pair(ctx, bn.output[0]) if act is None else None
        if silu is not None:
            activation, act = "SiLU", silu[1]
        fused = _fusable(ctx, node, bn) if spec["pad_mode"] != "same" else None
        if fused is not None:
            layer, conv_child, bn_child = fused
            bn_spec, bn_params = _bn_params(ctx, bn)
            fused_spec = {"type": "ConvBNAct", "conv": conv_child, "bn": bn_child,
                          **{k: v for k, v in spec.items() if k != "pad_mode" and v != [0, 0, 0, 0]}, **bn_spec}
            if activation:
                fused_spec["activation"] = activation
            params = {f"{conv_child}.{k}": v for k, v in params.items()}
            params.update({f"{bn_child}.{k}": v for k, v in bn_params.items()})
            last = act if activation else bn
            ctx.add(node, fused_spec, [_data(ctx, node)], params, output=last.output[0], name=layer)
            ctx.absorbed[id(bn)] = "fused into ConvBNAct"
            if activation:
                ctx.absorbed[id(act)] = "fused into ConvBNAct"
            if silu is not None:
                ctx.absorbed[id(silu[0])] = "fused into ConvBNAct (SiLU)"
                ctx.absorbed[id(silu[1])] = "fused into ConvBNAct (SiLU)"
            ctx.record(node, "ConvBNAct (Conv + BatchNorm + activation of one source module)")
            ctx.ops["Conv"].mapped.discard("ConvBNAct")
            return
    if spec["pad_mode"] == "valid":
        del spec["padding"]
    ctx.add(node, {"type": "Conv2d", **spec}, [_data(ctx, node)], params, weight=node.input[1])


@converter("BatchNormalization")
def batch_norm(ctx, node):
    spec, params = _bn_params(ctx, node)
    rank = len(ctx.shape(node.input[0]))
    kind = {4: "BatchNorm2d", 2: "BatchNorm1d"}.get(rank)
    if kind is None:
        raise Unsupported(f"BatchNormalization of a {rank}-d tensor", "BatchNorm2d (4-d) or BatchNorm1d (2-d)")
    ctx.add(node, {"type": kind, **spec}, [_data(ctx, node)], params, weight=node.input[1])


@converter("Gemm")
def gemm(ctx, node):
    attrs = ctx.attrs(node)
    if attrs.get("transA", 0) or not ctx.is_const(node.input[1]):
        return _matmul_layers(ctx, node)
    weight = np.asarray(ctx.array(node.input[1])) * float(attrs.get("alpha", 1.0))
    if not attrs.get("transB", 0):
        weight = weight.T
    params = {"weight": weight}
    spec = {"type": "Dense", "out_channels": int(weight.shape[0])}
    if len(node.input) > 2 and node.input[2]:
        bias = np.broadcast_to(np.asarray(ctx.array(node.input[2])) * float(attrs.get("beta", 1.0)),
                               (weight.shape[0],))
        params["bias"] = bias
    else:
        spec["has_bias"] = False
    ctx.add(node, spec, [_data(ctx, node)], params, weight=node.input[1])


@converter("MatMul")
def matmul(ctx, node):
    a_const, b_const = ctx.is_const(node.input[0]), ctx.is_const(node.input[1])
    if b_const and not a_const and np.asarray(ctx.array(node.input[1])).ndim == 2:
        weight = np.asarray(ctx.array(node.input[1])).T
        params, spec = {"weight": weight}, {"type": "Linear", "out_features": int(weight.shape[0])}
        add = ctx.only_consumer(node.output[0], ("Add",))
        bias_name = None
        if add is not None:
            other = add.input[1] if add.input[0] == node.output[0] else add.input[0]
            if ctx.is_const(other) and np.asarray(ctx.array(other)).shape in ((weight.shape[0],),):
                bias_name = other
        if bias_name is None:
            spec["has_bias"] = False
            ctx.add(node, spec, [_data(ctx, node)], params, weight=ctx.learned.get(node.input[1]))
            return
        params["bias"] = ctx.array(bias_name)
        ctx.add(node, spec, [_data(ctx, node)], params, weight=bias_name, output=add.output[0])
        ctx.absorbed[id(add)] = "fused into Linear (MatMul + Add)"
        return
    _matmul_layers(ctx, node)


def _matmul_layers(ctx, node):
    if node.op_type == "Gemm":
        raise Unsupported("Gemm with transA or computed weights", "MatMul")
    ctx.add(node, {"type": "MatMul"}, [ctx.layer_of(node.input[0]), ctx.layer_of(node.input[1])])


@converter("LayerNormalization", since=17)
def layer_norm(ctx, node):
    attrs = ctx.attrs(node)
    rank = len(ctx.shape(node.input[0]))
    if int(attrs.get("axis", -1)) not in (-1, rank - 1):
        raise Unsupported(f"LayerNormalization over axis {attrs.get('axis')}", "LayerNorm over the last axis")
    if len(node.input) < 3 or not node.input[2]:
        raise Unsupported("LayerNormalization without a bias", "LayerNorm")
    params = {"gamma": ctx.array(node.input[1]), "beta": ctx.array(node.input[2])}
    ctx.add(node, {"type": "LayerNorm", "eps": f32(attrs.get("epsilon", 1e-5))}, [_data(ctx, node)], params,
            weight=node.input[1])


# -- activations and element-wise ops ---------------------------------------------------------------------
SIMPLE = {"Relu": "ReLU", "Tanh": "Tanh", "HardSwish": "HSwish", "Erf": "Erf",
          "Sqrt": "Sqrt", "Exp": "Exp", "Neg": "Neg", "Abs": "Abs", "Reciprocal": "Reciprocal"}


def _simple(block):
    def convert(ctx, node):
        ctx.add(node, {"type": block}, [_data(ctx, node)])
    return convert


for _op, _block in SIMPLE.items():
    converter(_op)(_simple(_block))


@converter("Sigmoid")
def sigmoid(ctx, node):
    silu = silu_pair(ctx, node.input[0])
    if silu is not None and silu[0] is node:
        ctx.add(node, {"type": "SiLU"}, [_data(ctx, node)], output=silu[1].output[0])
        ctx.absorbed[id(silu[1])] = "fused into SiLU (x * sigmoid(x))"
        return
    ctx.add(node, {"type": "Sigmoid"}, [_data(ctx, node)])


@converter("HardSigmoid")
def hard_sigmoid(ctx, node):
    attrs = ctx.attrs(node)
    if not (math.isclose(attrs.get("alpha", 0.2), 1 / 6, rel_tol=1e-5) and math.isclose(attrs.get("beta", 0.5), 0.5)):
        raise Unsupported(f"HardSigmoid alpha={attrs.get('alpha', 0.2)}", "HSigmoid (alpha 1/6, torch's)")
    ctx.add(node, {"type": "HSigmoid"}, [_data(ctx, node)])


@converter("Gelu", since=20)
def gelu(ctx, node):
    approximate = ctx.attrs(node).get("approximate", b"none")
    approximate = approximate.decode() if isinstance(approximate, bytes) else approximate
    ctx.add(node, {"type": "Gelu", "approximate": approximate}, [_data(ctx, node)])


@converter("LeakyRelu")
def leaky_relu(ctx, node):
    ctx.add(node, {"type": "LeakyReLU", "alpha": f32(ctx.attrs(node).get("alpha", 0.01))}, [_data(ctx, node)])


def _clip_range(ctx, node) -> tuple[float | None, float | None]:
    def bound(i):
        return f32(np.asarray(ctx.array(node.input[i]))) if len(node.input) > i and node.input[i] else None
    return bound(1), bound(2)


@converter("Clip", since=13)
def clip(ctx, node):
    low, high = _clip_range(ctx, node)
    if (low, high) == (0.0, 6.0):
        ctx.add(node, {"type": "ReLU6"}, [_data(ctx, node)])
    elif (low, high) == (0.0, None):
        ctx.add(node, {"type": "ReLU"}, [_data(ctx, node)])
    else:
        ctx.add(node, {"type": "Clip", **({"min": low} if low is not None else {}),
                       **({"max": high} if high is not None else {})}, [_data(ctx, node)])


@converter("Softmax", since=13)
def softmax(ctx, node):
    rank = len(ctx.shape(node.input[0]))
    ctx.add(node, {"type": "Softmax", "axis": _axis(ctx.attrs(node).get("axis", -1), rank, ctx, node.input[0])},
            [_data(ctx, node)])


# constants up to this many numbers are written into the recipe (ConstantOp); larger ones are fixed Parameter
# layers whose values are in the checkpoint (tf2onnx's BatchNorm as Mul/Add of [1, C, 1, 1]: a Keras
# EfficientNetB0 recipe would otherwise hold 18,000 numbers, past a recipe's bound)
INLINE_VALUES = 64


def _binary(op):
    def convert(ctx, node):
        a, b = node.input[0], node.input[1]
        for const, data, reverse in ((b, a, False), (a, b, True)):
            if ctx.is_const(const) and not ctx.is_const(data):
                value = np.asarray(ctx.array(const))
                if const in ctx.learned:
                    break   # a parameter of the source stays a parameter
                if value.size <= INLINE_VALUES:
                    if value.ndim > len(ctx.shape(data)):
                        raise Unsupported("a constant of more axes than the data")
                    if value.ndim == len(ctx.shape(data)) and _is_folded(ctx, data):
                        value = value[None]   # its first axis meets [batch * k]: the recipe's [batch, k]
                    plain = f32(value.reshape(-1)[0]) if value.ndim == 0 else value.astype(np.float32).tolist()
                    ctx.add(node, {"type": "ConstantOp", "op": op, "value": plain,
                                   **({"reverse": True} if reverse else {})}, [ctx.layer_of(data)])
                    return
        rank = max(len(ctx.shape(a)), len(ctx.shape(b)))
        if any(_is_folded(ctx, n) for n in (a, b)):
            rank += 1     # a constant meeting [batch * k, ...] on all axes: the recipe's [batch, k, ...]
        ctx.add(node, {"type": op}, [ctx.parameter(n, rank=rank) if ctx.is_const(n) and n not in ctx.source
                                     else ctx.layer_of(n) for n in (a, b)])
    return convert


for _op in ("Add", "Sub", "Mul", "Div", "Pow"):
    converter(_op)(_binary(_op))


# -- pooling ----------------------------------------------------------------------------------------------
def _pool(mode):
    def convert(ctx, node):
        attrs = ctx.attrs(node)
        kernel = [int(k) for k in attrs["kernel_shape"]]
        if len(kernel) != 2:
            raise Unsupported(f"{len(kernel)}-d pooling", "Pool2d")
        auto_pad = attrs.get("auto_pad", b"NOTSET")
        auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
        strides = [int(s) for s in attrs.get("strides", [1, 1])]
        if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            _, _, h, w = ctx.shape(node.input[0])
            pads = []
            for size, k, s in ((h, kernel[0], strides[0]), (w, kernel[1], strides[1])):
                total = max((math.ceil(size / s) - 1) * s + k - size, 0)
                small, big = total // 2, total - total // 2
                pads.append((small, big) if auto_pad == "SAME_UPPER" else (big, small))
            padding = [pads[0][0], pads[0][1], pads[1][0], pads[1][1]]
        else:
            t, l, b, r = (int(p) for p in attrs.get("pads", [0, 0, 0, 0]))
            padding = [t, b, l, r]
        spec = {"type": "Pool2d", "mode": mode, "kernel_size": _size(kernel), "stride": _size(strides)}
        if any(padding):
            spec["padding"] = padding
        if attrs.get("ceil_mode", 0):
            spec["ceil_mode"] = True
        if mode == "avg" and attrs.get("count_include_pad", 0):
            spec["count_include_pad"] = True
        if mode == "max":
            if len(node.output) > 1 and node.output[1] and ctx.consumers.get(node.output[1]):
                raise Unsupported("MaxPool's indices output is used")
            if attrs.get("storage_order", 0):
                raise Unsupported("MaxPool storage_order 1")
            dilations = _size(attrs.get("dilations", [1, 1]))
            if dilations != 1:
                spec["dilation"] = dilations
        ctx.add(node, spec, [_data(ctx, node)])
    return convert


converter("MaxPool")(_pool("max"))
converter("AveragePool")(_pool("avg"))


@converter("GlobalAveragePool")
def global_average_pool(ctx, node):
    ctx.add(node, {"type": "ReduceMean", "axes": [2, 3], "keepdims": True}, [_data(ctx, node)])


def _reduce(block):
    def convert(ctx, node):
        attrs = ctx.attrs(node)
        rank = len(ctx.shape(node.input[0]))
        if len(node.input) > 1 and node.input[1]:
            axes = ctx.ints(node.input[1])
        else:
            axes = list(attrs.get("axes", range(rank)))
        if not axes and attrs.get("noop_with_empty_axes", 0):
            return ctx.alias(node, node.input[0])
        axes = sorted(_axis(a, rank, ctx, node.input[0]) for a in axes)
        ctx.add(node, {"type": block, "axes": axes, "keepdims": bool(attrs.get("keepdims", 1))}, [_data(ctx, node)])
    return convert


converter("ReduceMean", since=13)(_reduce("ReduceMean"))
converter("ReduceSum", since=13)(_reduce("ReduceSum"))


# -- shapes -----------------------------------------------------------------------------------------------
RESHAPES = ("Reshape", "Flatten", "Squeeze", "Unsqueeze")


def _arange_gather(ctx, node) -> bool:
    """A Gather that only reshapes: a flat tensor at indices 0, 1, 2, ... (dynamo's ``as_strided``)."""
    if len(ctx.shape(node.input[0])) != 1 or not ctx.is_const(node.input[1]):
        return False
    index = np.asarray(ctx.array(node.input[1]))
    return index.size == ctx.shape(node.input[0])[0] and np.array_equal(index.reshape(-1), np.arange(index.size))


def _batch_first(ctx, tensor: str) -> bool:
    shape = ctx.shape(tensor)
    return bool(shape) and shape[0] == ctx.batch


def _reshape_to_inferred(ctx, node):
    """Any pure reshape (Reshape, Flatten, Squeeze, Unsqueeze) as ``Reshape`` to the inferred per-sample shape;
    a chain of them through a shape that merges the batch (dynamo's ``[N*C]`` between two views) as one."""
    _per_sample(ctx, node.input[0])
    last = node
    while not _batch_first(ctx, last.output[0]):
        following = ctx.only_consumer(last.output[0], RESHAPES + ("Gather",))
        if following is not None and following.op_type == "Gather" and not _arange_gather(ctx, following):
            following = None
        if following is None:
            break
        ctx.absorbed[id(following)] = "joined with the Reshape before it"
        last = following
    if last is not node:
        out = _per_sample(ctx, last.output[0])
        ctx.add(node, {"type": "Reshape", "shape": out}, [_data(ctx, node)], output=last.output[0])
        return
    out = _per_sample(ctx, node.output[0])
    if node.op_type == "Flatten" and len(out) == 1:
        ctx.add(node, {"type": "Flatten"}, [_data(ctx, node)])
    else:
        ctx.add(node, {"type": "Reshape", "shape": out}, [_data(ctx, node)])


for _op in ("Reshape", "Flatten", "Squeeze", "Unsqueeze"):
    converter(_op)(_reshape_to_inferred)


@converter("Transpose")
def transpose(ctx, node):
    rank = len(ctx.shape(node.input[0]))
    perm = [int(p) for p in ctx.attrs(node).get("perm", list(reversed(range(rank))))]
    if perm[0] != 0:
        from mm_train.migrate.onnx import attention
        if perm == attention.SWAP and _batch_first(ctx, node.input[0]) and attention.fuse(ctx, node):
            return
        if _transpose_then_pick(ctx, node, perm):
            return
        raise Unsupported(f"Transpose {perm} moves the batch axis", "a graph that keeps the batch first "
                          "(torch's nn.MultiheadAttention is fused into one layer; other sequence-first "
                          "computations are not converted)")
    if perm == list(range(rank)):
        return ctx.alias(node, node.input[0])
    ctx.add(node, {"type": "Transpose", "perm": _perm(ctx, node.input[0], perm)}, [_data(ctx, node)])


def _picks(ctx, tensor: str) -> list | None:
    """``[(node, index), ...]`` when every reader of ``tensor`` picks one constant index of axis 0 (Gather of a
    scalar index, or Slice of one row + Squeeze), else None."""
    picks = []
    for user in ctx.consumers.get(tensor, []):
        if user is None:
            return None
        if user.op_type == "Gather" and int(ctx.attrs(user).get("axis", 0)) == 0 and ctx.is_const(user.input[1]) \
                and np.asarray(ctx.array(user.input[1])).ndim == 0:
            picks.append((user, int(np.asarray(ctx.array(user.input[1]))), user))
            continue
        if user.op_type == "Slice" and all(ctx.is_const(i) for i in user.input[1:] if i):
            starts, ends = ctx.ints(user.input[1]), ctx.ints(user.input[2])
            axes = ctx.ints(user.input[3]) if len(user.input) > 3 and user.input[3] else [0]
            steps = ctx.ints(user.input[4]) if len(user.input) > 4 and user.input[4] else [1]
            squeeze = ctx.only_consumer(user.output[0], ("Squeeze",))
            if axes == [0] and steps == [1] and ends[0] == starts[0] + 1 and squeeze is not None:
                sq_axes = ctx.ints(squeeze.input[1]) if len(squeeze.input) > 1 and squeeze.input[1] else \
                    list(ctx.attrs(squeeze).get("axes", [0]))
                if sq_axes == [0]:
                    picks.append((user, starts[0], squeeze))
                    continue
        return None
    return picks or None


def _transpose_then_pick(ctx, node, perm: list[int]) -> bool:
    """``x.permute(perm)[i]`` (Swin's ``qkv.permute(2, 0, 3, 1, 4)`` then ``q, k, v = qkv[0], qkv[1], qkv[2]``)
    as ``x`` at index ``i`` of axis ``perm[0]``, then the rest of the permutation: the batch stays first."""
    picks = _picks(ctx, node.output[0])
    if picks is None or perm[1] != 0 or not _batch_first(ctx, node.input[0]) and folded(ctx, node.input[0]) == 1:
        return False
    axis = _axis(perm[0], len(perm), ctx, node.input[0])
    rest = [p - (p > perm[0]) for p in perm[1:]]
    data = _data(ctx, node)
    for first, index, last in picks:
        picked = f"{last.output[0]}#picked"
        ctx.add(first, {"type": "Gather", "axis": axis, "index": index}, [data], output=picked)
        ctx.absorbed[id(first)] = "joined with the Transpose before it (a pick of one index)"
        if last is not first:
            ctx.absorbed[id(last)] = "joined with the Transpose before it (a pick of one index)"
        if rest == list(range(len(rest))):
            ctx.source[last.output[0]] = ctx.source[picked]
        else:
            ctx.add(node, {"type": "Transpose", "perm": _perm(ctx, node.input[0], rest)}, [ctx.source[picked]],
                    output=last.output[0])
    ctx.record(node, "Gather + Transpose (a permutation whose first axis is picked by index)")
    return True


@converter("Concat")
def concat(ctx, node):
    rank = len(ctx.shape(node.output[0]))
    axis = _axis(ctx.attrs(node)["axis"], rank, ctx, node.output[0])
    if len(node.input) == 1:   # torch.cat([x]) (DenseNet's first layer of a block)
        return ctx.alias(node, node.input[0])
    ctx.add(node, {"type": "Concat", "axis": axis}, [_concat_input(ctx, node, i) for i in node.input])


def _concat_input(ctx, node, tensor: str) -> str:
    """A constant repeated over a static batch (the dynamo exporter folds ``class_token.expand(n, -1, -1)``
    into one) becomes a trainable Parameter of one row and a BroadcastBatch."""
    if not ctx.static_batch or not ctx.is_const(tensor) or tensor in ctx.source:
        return ctx.layer_of(tensor)
    value = np.asarray(ctx.array(tensor))
    if value.dtype.kind != "f" or value.ndim < 2 or value.shape[0] != ctx.batch or not np.all(value == value[:1]):
        return ctx.layer_of(tensor)
    row = f"{tensor}#row"
    ctx.const[row] = value[:1]
    ctx.learned.setdefault(row, ctx.learned.get(tensor, tensor))
    batched = f"{tensor}#batched"
    layer = ctx.add(node, {"type": "BroadcastBatch"}, [ctx.parameter(row, trainable=True), INPUT], output=batched,
                    name=f"{ctx.param_layers[row]}_batched")
    ctx.notes.append(f"'{tensor}' (a constant repeated over the exported batch, e.g. a class token expanded to "
                     "the batch) is a trainable Parameter of one row broadcast to the batch")
    return layer


@converter("Slice", since=13)
def slice_(ctx, node):
    shape = ctx.shape(node.input[0])
    starts, ends = ctx.ints(node.input[1]), ctx.ints(node.input[2])
    axes = ctx.ints(node.input[3]) if len(node.input) > 3 and node.input[3] else list(range(len(starts)))
    steps = ctx.ints(node.input[4]) if len(node.input) > 4 and node.input[4] else [1] * len(starts)
    axes = [_axis(a, len(shape), ctx, node.input[0]) for a in axes]
    ends = [min(e, shape[a]) if e > 0 else e for e, a in zip(ends, axes)]
    ctx.add(node, {"type": "Slice", "axes": axes, "starts": starts, "ends": ends, "steps": steps},
            [_data(ctx, node)])


@converter("Split", since=13)
def split(ctx, node):
    shape = ctx.shape(node.input[0])
    axis = _axis(ctx.attrs(node).get("axis", 0), len(shape), ctx, node.input[0])
    if len(node.input) > 1 and node.input[1]:
        sizes = ctx.ints(node.input[1])
    else:
        parts = len(node.output)
        size = math.ceil(shape[axis] / parts)
        sizes = [min(size, shape[axis] - i * size) for i in range(parts)]
    data, start = _data(ctx, node), 0
    for out, size in zip(node.output, sizes):
        ctx.add(node, {"type": "Slice", "axes": [axis], "starts": [start], "ends": [start + size], "steps": [1]},
                [data], output=out)
        start += size


@converter("Gather")
def gather(ctx, node):
    shape = ctx.shape(node.input[0])
    axis = _axis(ctx.attrs(node).get("axis", 0), len(shape), ctx, node.input[0])
    index = np.asarray(ctx.array(node.input[1])) if ctx.is_const(node.input[1]) else None
    if index is None or index.ndim != 0:
        raise Unsupported("Gather with a tensor of indices", "Gather of one constant index, or Slice")
    ctx.add(node, {"type": "Gather", "axis": axis, "index": int(index)}, [_data(ctx, node)])


@converter("Expand")
def expand(ctx, node):
    target = list(ctx.shape(node.output[0]))
    source = list(ctx.shape(node.input[0]))
    if target == source and not ctx.is_const(node.input[0]):
        return ctx.alias(node, node.input[0])
    if target[1:] == source[1:] and source[0] == 1:
        ctx.add(node, {"type": "BroadcastBatch"}, [ctx.layer_of(node.input[0]), "input"])
        return
    raise Unsupported(f"Expand {source} -> {target}", "numpy broadcasting in the op that uses it")


@converter("Pad", since=13)
def pad(ctx, node):
    attrs = ctx.attrs(node)
    mode = attrs.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    pads = ctx.ints(node.input[1])
    rank = len(pads) // 2
    value = float(np.asarray(ctx.array(node.input[2]))) if len(node.input) > 2 and node.input[2] else 0.0
    if len(node.input) > 3 and node.input[3]:
        raise Unsupported("Pad with axes", "Pad of every axis")
    if pads[0] or pads[rank]:
        raise Unsupported("Pad of the batch axis")
    if mode not in ("constant", "reflect", "edge", "wrap"):
        raise Unsupported(f"Pad mode {mode}", "Pad constant, reflect, edge or wrap")
    lead = [0] if folded(ctx, node.input[0]) > 1 else []
    spec = {"type": "Pad", "pads": lead + pads[1:rank] + lead + pads[rank + 1:], "mode": mode}
    if value:
        spec["value"] = f32(value)
    ctx.add(node, spec, [_data(ctx, node)])


@converter("Einsum", since=12)
def einsum(ctx, node):
    """A batched matrix product written as einsum (MaxViT's ``"B G H I D, B G H J D -> B G H I J"``): MatMul, the
    second operand's last two axes swapped first when the equation contracts both last axes."""
    equation = ctx.attrs(node)["equation"]
    equation = (equation.decode() if isinstance(equation, bytes) else equation).replace(" ", "")
    terms, _, out = equation.partition("->")
    parts = terms.split(",")
    if len(parts) != 2 or not out or "." in equation or len(node.input) != 2:
        raise Unsupported(f"Einsum '{equation}'", NEAREST["Einsum"])
    a, b = parts
    batch = out[:-2]
    i, j = out[-2:]
    if not (len(a) == len(b) == len(out) >= 2 and a[:-2] == b[:-2] == batch and a[-2] == i and len(set(a)) == len(a)):
        raise Unsupported(f"Einsum '{equation}' (only batched matrix products convert)", NEAREST["Einsum"])
    k = a[-1]
    if b[-2:] == k + j:
        second = ctx.layer_of(node.input[1])
    elif b[-2:] == j + k:
        rank = len(b)
        perm = list(range(rank - 2)) + [rank - 1, rank - 2]
        swapped = f"{node.input[1]}#swapped"
        second = ctx.add(node, {"type": "Transpose", "perm": _perm(ctx, node.input[1], perm)},
                         [ctx.layer_of(node.input[1])], output=swapped)
    else:
        raise Unsupported(f"Einsum '{equation}' (only batched matrix products convert)", NEAREST["Einsum"])
    ctx.add(node, {"type": "MatMul"}, [ctx.layer_of(node.input[0]), second])
