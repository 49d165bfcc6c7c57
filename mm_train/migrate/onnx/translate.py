"""The state of one walk over an ONNX graph (:class:`Context`) and its result (:class:`Translation`);
:func:`mm_train.migrate.onnx.walk.translate` does the walk.

    result = translate(model)        # model: a checked onnx.ModelProto (see .load)
    result.network                   # {"input_shape": [3, 224, 224], "layers": {...}, ("output": ...)}
    result.weights                   # {"features.0.weight": ndarray, ...}  (checkpoint names)
    result.ops                       # {"Conv": OpRow(count=53, mapped={"Conv2d"}, ...)}

Each node goes to the converter registered for its op type (:mod:`.ops`). Tensors are either layer outputs
or constants: a node whose inputs are all constants (shape arithmetic: Shape, Gather, Concat, ...) is
evaluated here with onnx's reference evaluator and never becomes a layer. Static shapes come from onnx's
shape inference with the batch axis fixed (2 when the model leaves it open), and every layer keeps the
batch as axis 0 (the recipe's shapes are per sample).
"""
from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mm_train.core.errors import ConfigError

INPUT = "input"
MISSING = "<unsupported>"
SOURCE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$")
GENERATED = re.compile(r"^(onnx::|val_|_val|const|scalar|_v_|p_|b_|c_|_onnx|/)|::")
NEVER_FOLD = {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Dropout"}
PARAM_SUFFIXES = ("weight", "bias", "running_mean", "running_var", "gamma", "beta", "moving_mean",
                  "moving_variance", "scale")


class Unsupported(Exception):
    """A node the converter cannot map; ``nearest``: what to use instead."""

    def __init__(self, reason: str, nearest: str = ""):
        super().__init__(reason)
        self.reason, self.nearest = reason, nearest


@dataclass
class OpRow:
    count: int = 0
    mapped: set = field(default_factory=set)
    unsupported: list = field(default_factory=list)    # [(node name, reason, nearest)]


@dataclass
class Translation:
    network: dict
    weights: dict
    ops: dict                     # op type -> OpRow
    notes: list                   # what the exporter did that the user should know
    opset: int
    batch_norms: int              # BatchNormalization nodes in the source
    nhwc: bool = False            # the source takes channels-last input; the recipe takes channels-first
    training_export: bool = False  # exported in training mode: onnxruntime's outputs are not inference outputs
    batch: int = 2                 # the batch size shapes were inferred with
    static_batch: bool = False     # the model fixes its batch size (torch's dynamo exporter does)
    producer: str = ""             # the exporter (model.producer_name: pytorch, tf2onnx, ...)


def source_name(name: str) -> bool:
    """A ``state_dict``-like name (``features.0.weight``), not one an exporter made up (``onnx::Mul_12``)."""
    return bool(SOURCE_NAME.match(name)) and not GENERATED.search(name)


def module_path(name: str) -> str | None:
    """``features.0.weight`` -> ``features.0``; None when the name is not a source parameter name."""
    if not source_name(name):
        return None
    parts = name.split(".")
    if len(parts) > 1 and parts[-1] in PARAM_SUFFIXES:
        return ".".join(parts[:-1])
    return None


def node_path(node) -> str | None:
    """The source module of a node: from the legacy exporter's node name (``/layer1/layer1.0/relu/Relu`` ->
    ``layer1.0.relu``) or the dynamo exporter's name scopes (``['', 'layer1', 'layer1.0', 'layer1.0.relu',
    'relu_1']`` -> ``layer1.0.relu``)."""
    for prop in node.metadata_props:
        if prop.key == "pkg.torch.onnx.name_scopes":
            import ast
            try:
                scopes = [s for s in ast.literal_eval(prop.value) if s]
            except (ValueError, SyntaxError):
                break
            if len(scopes) >= 2 and SOURCE_NAME.match(scopes[-2]):
                return scopes[-2]
    parts = [p for p in node.name.split("/") if p][:-1]      # the last part is the op
    full, local = "", ""
    for part in parts:   # scopes repeat their parent's local name: features, features.1, conv, conv.0 ...
        if local and part.startswith(local + "."):
            full += part[len(local):]
        else:
            full = f"{full}.{part}" if full else part
        local = part
    full = re.sub(r"[^A-Za-z0-9_.]", "_", full)
    return full if full and SOURCE_NAME.match(full) else None


class Context:
    """The state of one graph walk; the converters in :mod:`.ops` call its methods."""

    def __init__(self, model):
        import onnx
        from onnx import numpy_helper

        from mm_train.migrate.onnx.load import opset

        self.onnx, self.model, self.graph, self.opset = onnx, model, model.graph, opset(model)
        self.init = {t.name: t for t in self.graph.initializer}
        self.arrays: dict[str, np.ndarray] = {}
        self._numpy = numpy_helper
        self.const: dict[str, np.ndarray] = {}
        self.source: dict[str, str] = {}
        self.layers: OrderedDict[str, dict] = OrderedDict()
        self.weights: dict[str, np.ndarray] = {}
        self.ops: dict[str, OpRow] = {}
        self.notes: list[str] = []
        self.param_layers: dict[str, str] = {}     # initializer -> its Parameter layer
        # learned tensor -> its source name; only moved (Transpose, Identity) while folding, never computed with
        self.learned: dict[str, str] = {n: n for n, t in self.init.items() if self._learned(n, t)}
        self.index_maps: dict[str, tuple[str, np.ndarray]] = {}   # learned tensor -> (source, its entries)
        self.consumers: dict[str, list] = {}
        for node in self.graph.node:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)
        for out in self.graph.output:
            self.consumers.setdefault(out.name, []).append(None)
        self.absorbed: dict[int, str] = {}            # id(node) -> the fused layer's description
        self.nhwc_prefix: list = []                   # per-channel ops on a channels-last input (see _channel_prefix)
        self._counter = 0
        inputs = [i for i in self.graph.input if i.name not in self.init]
        if len(inputs) != 1:
            raise ConfigError("model", f"{len(inputs)} graph inputs ({[i.name for i in inputs]})",
                              expected="a classifier with one input, an image batch")
        self.input = inputs[0]
        dims = self.input.type.tensor_type.shape.dim
        shape = [d.dim_value if d.HasField("dim_value") else None for d in dims]
        if len(shape) < 2 or any(s is None for s in shape[1:]):
            raise ConfigError(f"model input '{self.input.name}'", f"shape {shape}",
                              expected="a batch of fixed-size samples, e.g. [N, 3, 224, 224] (export with a "
                                       "fixed image size; only the batch axis may be dynamic)")
        self.batch, self.static_batch = shape[0] or 2, bool(shape[0])
        self.input_shape = [int(s) for s in shape[1:]]
        self.source[self.input.name] = INPUT
        self.shapes = self._infer_shapes()
        self._propagate_constants()
        self.nhwc = self._channels_last_input()

    def _channels_last_input(self) -> bool:
        """A Keras model (tf2onnx) starts with Transpose NHWC -> NCHW: the recipe takes NCHW instead."""
        if len(self.input_shape) != 3:
            return False
        prefix, users = self._channel_prefix()
        if len(users) == 1 and users[0] is not None and \
                users[0].op_type == "Transpose" and list(self.attrs(users[0]).get("perm", [])) == [0, 3, 1, 2]:
            h, w, c = self.input_shape
            self.input_shape = [c, h, w]
            self.source[users[0].output[0]] = INPUT
            self.absorbed[id(users[0])] = "the channels-last input: the recipe takes NCHW (mm-train parity --nhwc)"
            self.nhwc_prefix = prefix
            for node, *_ in prefix:
                self.absorbed[id(node)] = "ConstantOp after the NHWC -> NCHW transpose (per-channel preprocessing)"
            if prefix:
                self.notes.append(f"{len(prefix)} per-channel operations on the channels-last input (Keras "
                                  "preprocessing: Rescaling, Normalization) are ConstantOp layers after the transpose")
            self.notes.append("the model takes channels-last (NHWC) images; the recipe's network takes NCHW: "
                              "give mm-train parity --nhwc for NHWC inputs")
            return True
        return False

    def _channel_prefix(self) -> tuple[list, list]:
        """The element-wise operations with per-channel constants (a number, or ``[C]`` / ``[1, 1, 1, C]`` on
        the channels-last input) from the input up to its first other node: ``([(node, op, value), ...], the
        readers of the last one)``; each value as ``[C, 1, 1]`` (or a number), to apply channels-first."""
        prefix, tensor, c = [], self.input.name, self.input_shape[-1]
        while True:
            users = self.consumers.get(tensor, [])
            node = users[0] if len(users) == 1 else None
            if node is None or node.op_type not in ("Add", "Sub", "Mul", "Div") or len(node.input) != 2:
                return prefix, users
            other = node.input[1] if node.input[0] == tensor else node.input[0]
            if not self.is_const(other) or other in self.learned:
                return prefix, users
            value = np.asarray(self.array(other), np.float32)
            if value.size == 1:
                value = value.reshape(())
            elif value.size == c and value.shape[-1] == c and value.ndim <= 4:
                value = value.reshape(c, 1, 1)
            else:
                return prefix, users
            prefix.append((node, node.op_type, value, node.input[0] != tensor))
            tensor = node.output[0]

    def _learned(self, name: str, tensor) -> bool:
        """A float initializer the source learned (``class_token``, ``encoder.pos_embedding``): it stays a
        parameter, so nothing computed from it is folded into a constant."""
        onnx = self.onnx
        return tensor.data_type in (onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT16) \
            and source_name(name) and ("." in name or int(np.prod(tensor.dims)) > 1)

    # -- shapes and values ------------------------------------------------------------------------------
    def _propagate_constants(self, rounds: int = 64) -> None:
        """Fold the shape arithmetic (Shape, Gather, Concat, ... of static shapes) and infer the shapes again
        with its results as constants, until nothing new is known: the legacy exporter's ``x.view(x.size(0),
        ...)`` leaves shape inference without the shapes after the Reshape otherwise."""
        for _ in range(rounds):
            before = len(self.const)
            for node in self.graph.node:
                outputs = [o for o in node.output if o]
                if not outputs or all(o in self.const for o in outputs):
                    continue
                if node.op_type == "Constant":
                    from onnx import numpy_helper
                    attrs = self.attrs(node)
                    if "value" in attrs:
                        self.const[outputs[0]] = numpy_helper.to_array(attrs["value"])
                elif node.op_type == "Shape" and self._known(node.input[0]):
                    attrs = self.attrs(node)
                    full = list(self.shape(node.input[0]))
                    self.const[outputs[0]] = np.asarray(full[attrs.get("start", 0):attrs.get("end", len(full))],
                                                        np.int64)
                elif all(self.is_const(i) for i in node.input) and self.foldable(node) \
                        and node.domain in ("", "ai.onnx") and node.op_type not in NEVER_FOLD:
                    try:
                        self.fold(node)
                    except Exception:   # an op the reference evaluator lacks: the converters decide
                        continue
            if len(self.const) == before:
                return
            shapes = self._infer_shapes(self.const)
            if all(k in self.shapes for k in shapes):
                return
            self.shapes.update(shapes)

    def foldable(self, node) -> bool:
        """Constant inputs may be computed with, except learned ones: those are only moved (a Transpose of a
        weight, an Identity), and the result stays learned under the source's name."""
        learned = [i for i in node.input if i in self.learned]
        if not learned:
            return True
        moves = node.op_type in ("Transpose", "Identity", "Reshape", "Unsqueeze", "Squeeze", "Flatten", "Cast")
        picks = node.op_type == "Gather" and learned == [node.input[0]] and len(node.input) > 1 \
            and np.asarray(self.array(node.input[1])).ndim > 0
        if (moves or picks) and len(node.output) == 1 and len(learned) == 1:
            self.learned[node.output[0]] = self.learned[learned[0]]
            if picks or learned[0] in self.index_maps:
                self._follow_index(node, learned[0])
            return True
        return False

    def _follow_index(self, node, learned: str) -> None:
        """Which entries of the learned source tensor ``node``'s output holds (a relative-position bias table
        indexed by ``relative_position_index``, then reshaped and permuted): ``index_maps[out]`` = (source,
        integer array of the output's shape), so the table stays one parameter (see :meth:`parameter`)."""
        source, index = self.index_maps.get(learned) or (
            self.learned[learned], np.arange(int(np.prod(self.shape(learned))), dtype=np.int64).reshape(
                self.shape(learned)))
        values = {n: (index if n == learned else self.array(n)) for n in node.input if n}
        self.index_maps[node.output[0]] = (source, np.asarray(self._evaluate(node, values)[0]))

    def _known(self, name: str) -> bool:
        try:
            self.shape(name)
            return True
        except Unsupported:
            return False

    def _infer_shapes(self, constants: dict | None = None) -> dict[str, tuple]:
        onnx = self.onnx
        model = onnx.ModelProto()
        model.CopyFrom(self.model)
        if constants:   # computed tensors become initializers, the nodes that computed them go
            from onnx import numpy_helper
            keep = [n for n in model.graph.node if not all(o in constants for o in n.output if o)]
            del model.graph.node[:]
            model.graph.node.extend(keep)
            for k, v in constants.items():
                v = np.asarray(v)
                if k in self.init:
                    continue
                if v.dtype.kind != "f" or v.size <= 64:   # shape arithmetic: values matter
                    model.graph.initializer.append(numpy_helper.from_array(v, k))
                else:                                     # a moved weight: only its shape
                    model.graph.input.append(onnx.helper.make_tensor_value_info(
                        k, onnx.helper.np_dtype_to_tensor_dtype(v.dtype), list(v.shape)))
        del model.graph.initializer[:len(self.graph.initializer)]   # shapes need no float weights: small ones only
        for t in self.graph.initializer:
            if t.data_type != onnx.TensorProto.FLOAT or int(np.prod(t.dims)) <= 64:
                model.graph.initializer.insert(0, t)
            else:
                model.graph.input.append(onnx.helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)))
        graph_input = next(i for i in model.graph.input if i.name == self.input.name)
        dim = graph_input.type.tensor_type.shape.dim[0]
        dim.Clear()
        dim.dim_value = self.batch
        try:
            inferred = onnx.shape_inference.infer_shapes(model, data_prop=True)
        except Exception as err:
            raise ConfigError("model", f"onnx shape inference failed: {' '.join(str(err).split())[:300]}") from None
        shapes = {}
        for info in list(inferred.graph.value_info) + list(inferred.graph.output) + list(inferred.graph.input):
            dims = info.type.tensor_type.shape.dim
            if info.type.tensor_type.HasField("shape") and all(d.HasField("dim_value") for d in dims):
                shapes[info.name] = tuple(int(d.dim_value) for d in dims)
        return shapes

    def shape(self, name: str) -> tuple:
        if name in self.const:
            return tuple(self.const[name].shape)
        if name in self.init:
            return tuple(self.init[name].dims)
        if name == self.input.name:
            return (self.batch, *self.input_shape)
        if name not in self.shapes:
            raise Unsupported(f"the shape of '{name}' is not static", "export with fixed input sizes")
        return self.shapes[name]

    def is_const(self, name: str) -> bool:
        return name == "" or name in self.const or name in self.init

    def array(self, name: str) -> np.ndarray:
        if name in self.const:
            return self.const[name]
        if name not in self.arrays:
            self.arrays[name] = self._numpy.to_array(self.init[name])
        return self.arrays[name]

    def ints(self, name: str) -> list[int]:
        return [int(v) for v in np.asarray(self.array(name)).reshape(-1)]

    def attrs(self, node) -> dict[str, Any]:
        return {a.name: self.onnx.helper.get_attribute_value(a) for a in node.attribute}

    def fold(self, node) -> None:
        """Evaluate a node whose inputs are all constants."""
        values = self._evaluate(node, {n: self.array(n) for n in node.input if n})
        for name, value in zip([n for n in node.output if n], values):
            self.const[name] = np.asarray(value)

    def _evaluate(self, node, values: dict) -> list:
        """Run one node on numpy ``values`` (its inputs by name) with onnx's reference evaluator."""
        from onnx.reference import ReferenceEvaluator
        helper = self.onnx.helper
        names = [n for n in node.input if n]
        inputs = [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(np.asarray(values[n]).dtype),
                                                None) for n in names]
        outputs = [helper.make_tensor_value_info(n, 0, None) for n in node.output if n]
        graph = helper.make_graph([node], "fold", inputs, outputs)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)])
        return ReferenceEvaluator(model).run(None, {n: np.asarray(values[n]) for n in names})

    # -- layers -----------------------------------------------------------------------------------------
    def layer_of(self, name: str) -> str:
        """The layer that computes tensor ``name``; a constant becomes a Parameter layer."""
        if name in self.source:
            return self.source[name]
        if self.is_const(name):
            return self.parameter(name)
        raise Unsupported(f"tensor '{name}' has no producer")

    def parameter(self, name: str, trainable: bool | None = None, rank: int = 0) -> str:
        """A Parameter layer holding initializer or constant ``name`` (its name, when it is a source name);
        ``rank``: the rank of the data it meets, its shape is padded with leading 1s to it (numpy's
        broadcasting, and the Parameter block takes a leading 1 as the batch axis)."""
        if name in self.param_layers:
            return self.param_layers[name]
        if name in self.index_maps:
            return self._indexed(name, rank)
        value = np.asarray(self.array(name))
        if value.ndim < rank:
            value = value.reshape((1,) * (rank - value.ndim) + value.shape)
        if value.dtype.kind != "f":
            raise Unsupported(f"integer tensor '{name}' used as data")
        from_source = name in self.learned or (name in self.init and source_name(name))
        layer = self.unique(self.learned.get(name, name) if from_source else f"const_{self._next()}")
        if value.ndim == 0:
            value = value.reshape(1)
        self.layers[layer] = {"type": "Parameter", "shape": [int(s) for s in value.shape],
                              "requires_grad": bool(from_source if trainable is None else trainable), "inputs": []}
        self.weights[layer] = value.astype(np.float32)
        self.param_layers[name] = layer
        return layer

    def _indexed(self, name: str, rank: int) -> str:
        """Entries of a learned tensor picked by a constant index (``table[relative_position_index]``): the
        table is one Parameter layer under the source's name, an ``Indexed`` layer picks from it."""
        source, index = self.index_maps[name]
        if index.size and int(index.max()) >= 2 ** 24:   # the index is stored as float32: exact below 2**24
            raise Unsupported(f"'{source}' indexed at {int(index.max())}: more entries than an Indexed layer "
                              "addresses (2**24)", "a smaller table")
        table = self.parameter(source, trainable=True)
        if index.ndim < rank:
            index = index.reshape((1,) * (rank - index.ndim) + index.shape)
        layer = self.unique(f"{source}_indexed")
        self.layers[layer] = {"type": "Indexed", "shape": [int(s) for s in index.shape], "inputs": table}
        self.weights[f"{layer}.index"] = index.astype(np.float32)
        self.param_layers[name] = layer
        return layer

    def _next(self) -> int:
        self._counter += 1
        return self._counter

    def unique(self, name: str) -> str:
        base, i = name, 1
        while name in self.layers or name == INPUT:
            name, i = f"{base}_{i}", i + 1
        return name

    def name_for(self, node, weight: str | None = None) -> str:
        path = (module_path(weight) if weight else None) or node_path(node)
        return self.unique(path or f"{node.op_type.lower()}_{self._next()}")

    def add(self, node, spec: dict, inputs: list[str], params: dict[str, np.ndarray] | None = None,
            weight: str | None = None, output: str | None = None, name: str | None = None) -> str:
        """Add layer ``spec`` taking the layers ``inputs``; it computes ``output`` (default: the node's first)."""
        name = self.unique(name) if name else self.name_for(node, weight)
        previous = next(reversed(self.layers), INPUT) if self.layers else INPUT
        spec = dict(spec)
        if inputs != [previous]:
            spec["inputs"] = inputs[0] if len(inputs) == 1 else list(inputs)
        self.layers[name] = spec
        for suffix, value in (params or {}).items():
            self.weights[f"{name}.{suffix}"] = np.ascontiguousarray(value, np.float32)
        self.source[output or node.output[0]] = name
        self.record(node, spec["type"])
        return name

    def alias(self, node, tensor: str, how: str = "removed (no-op)") -> None:
        """The node's output is ``tensor`` (Identity, Dropout in inference, Cast to float)."""
        if tensor in self.source:
            self.source[node.output[0]] = self.source[tensor]
        else:
            self.const[node.output[0]] = self.array(tensor)
        self.record(node, how)

    def record(self, node, how: str) -> None:
        row = self.ops.setdefault(node.op_type, OpRow())
        row.mapped.add(how)

    def only_consumer(self, tensor: str, op_types: tuple) -> Any:
        """The one node reading ``tensor``, if it is of one of ``op_types`` (for fusing)."""
        users = self.consumers.get(tensor, [])
        if len(users) == 1 and users[0] is not None and users[0].op_type in op_types:
            return users[0]
        return None
