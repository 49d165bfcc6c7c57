"""Walk an ONNX graph once: each node to the converter registered for its op type (:mod:`.ops`), the
state in a :class:`~mm_train.migrate.onnx.translate.Context`; the result is a recipe's ``network`` section
and a checkpoint's weights (:class:`~mm_train.migrate.onnx.translate.Translation`).

    result = translate(model)        # model: a checked onnx.ModelProto (see .load)
    result.network                   # {"input_shape": [3, 224, 224], "layers": {...}, ("output": ...)}
"""
from __future__ import annotations

from typing import Any

from mm_train.core.errors import ConfigError
from mm_train.migrate.onnx import ops
from mm_train.migrate.onnx.translate import MISSING, NEVER_FOLD, Context, OpRow, Translation, Unsupported


def translate(model) -> Translation:
    ctx = Context(model)
    batch_norms = 0
    for node in ctx.graph.node:   # constants first: converters look ahead at the nodes they fuse
        if node.op_type == "Constant":
            ops.constant(ctx, node)
    ops.channels_last_prefix(ctx)
    for node in ctx.graph.node:
        row = ctx.ops.setdefault(node.op_type, OpRow())
        row.count += 1
        batch_norms += node.op_type == "BatchNormalization"
        if node.op_type == "Constant":
            continue
        if id(node) in ctx.absorbed:
            row.mapped.add(ctx.absorbed[id(node)])
            continue
        if node.domain not in ("", "ai.onnx"):
            row.unsupported.append((node.name, f"custom domain '{node.domain}'", "export with standard ops"))
            _mark_missing(ctx, node)
            continue
        if any(ctx.source.get(i) == MISSING for i in node.input if i):
            _mark_missing(ctx, node)
            row.mapped.add("(after an unsupported op)")
            continue
        if all(o in ctx.const for o in node.output if o):   # computed while propagating shapes
            row.mapped.add("computed here (static shape)" if node.op_type == "Shape" else "computed here (constant)")
            continue
        try:
            if node.op_type not in ("Shape", "Size") and all(ctx.is_const(i) for i in node.input) \
                    and node.op_type not in NEVER_FOLD and ctx.foldable(node):
                ctx.fold(node)
                row.mapped.add("computed here (constant)")
                continue
            convert = ops.converter_for(node.op_type, ctx.opset)
            if convert is None:
                raise Unsupported(f"no converter for {node.op_type}", ops.nearest(node.op_type))
            convert(ctx, node)
        except Unsupported as err:
            row.unsupported.append((node.name or node.output[0], err.reason, err.nearest))
            _mark_missing(ctx, node)
    output = model.graph.output[0].name
    network: dict[str, Any] = {"input_shape": list(ctx.input_shape), "layers": dict(ctx.layers)}
    unsupported = any(r.unsupported for r in ctx.ops.values())
    if not unsupported:
        last = ctx.source.get(output)
        if last is None:
            raise ConfigError("model", f"the output '{output}' is a constant", expected="a network")
        if last != next(reversed(ctx.layers)):
            network["output"] = last
        if len(model.graph.output) > 1:
            ctx.notes.append(f"the model has {len(model.graph.output)} outputs: the recipe's network gives the "
                             f"first, '{output}'")
    folded = sum(1 for n in ctx.graph.node if n.op_type == "Conv" and any(
        p.key == "pkg.onnxscript.rewriter.rule_name" and "FuseBatchNormIntoConv" in p.value for p in n.metadata_props))
    if folded:
        ctx.notes.append(f"the exporter folded {folded} BatchNorm layers into the convolutions before them "
                         "(torch's default exporter, dynamo=True)")
    training = any(n.op_type == "BatchNormalization" and ctx.attrs(n).get("training_mode") for n in ctx.graph.node)
    if training:
        ctx.notes.append("exported in training mode (TrainingMode.TRAINING): onnxruntime normalises with batch "
                         "statistics, so the parity check here is skipped; check parity against an eval-mode export")
    return Translation(network, ctx.weights, ctx.ops, ctx.notes, ctx.opset, batch_norms, ctx.nhwc, training,
                       ctx.batch, ctx.static_batch, model.producer_name)


def _mark_missing(ctx: Context, node) -> None:
    for out in node.output:
        if out:
            ctx.source[out] = MISSING
