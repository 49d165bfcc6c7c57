"""torch's ``nn.MultiheadAttention`` as exported (both exporters) fused into one ``MultiheadAttention`` layer.

torch computes attention sequence-first and folds the heads into the batch axis (``Transpose [1, 0, 2]``,
in_proj MatMul + Add, reshapes into heads, a scaled MatMul, Softmax, MatMul, the merge back, out_proj Gemm,
``Transpose [1, 0, 2]``); a converted layer keeps the batch first, so the whole region between the two
Transposes becomes one layer with the source's parameters (``...self_attention.in_proj_weight``, ...).
"""
from __future__ import annotations

import numpy as np

from mm_train.migrate.onnx.translate import Context, module_path, node_path

SWAP = [1, 0, 2]


def _perm(ctx: Context, node) -> list[int]:
    return [int(p) for p in ctx.attrs(node).get("perm", [])]


def _region(ctx: Context, entry) -> tuple[list, object] | None:
    """The nodes computed from ``entry``'s output up to the Transpose [1, 0, 2] that ends the attention,
    and that Transpose; None when anything else reads a tensor inside."""
    inside, exit_node, todo, seen = [], None, [entry.output[0]], set()
    while todo:
        tensor = todo.pop()
        for user in ctx.consumers.get(tensor, []):
            if user is None:
                return None                     # a graph output inside the region
            if id(user) in seen or all(o in ctx.const for o in user.output if o):
                continue                         # shape arithmetic of static shapes
            seen.add(id(user))
            if user.op_type == "Transpose" and _perm(ctx, user) == SWAP \
                    and ctx.shape(user.output[0]) == ctx.shape(entry.input[0]):
                if exit_node is not None and exit_node is not user:
                    return None
                exit_node = user
                continue
            inside.append(user)
            todo.extend(o for o in user.output if o)
            if len(inside) > 64:
                return None
    if exit_node is None:
        return None
    return inside, exit_node


def _const_input(ctx: Context, node) -> tuple[str, str] | None:
    """(data input, constant input) of a binary node with one constant input."""
    a, b = node.input[0], node.input[1]
    if ctx.is_const(b) and not ctx.is_const(a):
        return a, b
    if ctx.is_const(a) and not ctx.is_const(b):
        return b, a
    return None


def fuse(ctx: Context, entry) -> bool:
    """Fuse the attention that starts at Transpose ``entry`` (perm [1, 0, 2]); False when it is not one."""
    found = _region(ctx, entry)
    if found is None:
        return False
    inside, exit_node = found
    kinds = [n.op_type for n in inside]
    if kinds.count("Softmax") != 1:
        return False
    projection = [n for n in inside if n.op_type == "MatMul" and n.input[0] == entry.output[0]
                  and ctx.is_const(n.input[1])]
    outs = [n for n in inside if n.op_type in ("Gemm", "MatMul") and n not in projection and ctx.is_const(n.input[1])]
    if len(projection) != 1 or len(outs) != 1:
        return False
    in_mm, out_mm = projection[0], outs[0]
    tokens, batch, dim = ctx.shape(entry.output[0])
    learned = ctx.learned.get(in_mm.input[1])
    in_weight = np.asarray(ctx.array(learned) if learned and ctx.shape(learned) == (3 * dim, dim)
                           else np.asarray(ctx.array(in_mm.input[1])).T)
    if in_weight.shape != (3 * dim, dim):
        return False
    add = ctx.only_consumer(in_mm.output[0], ("Add",))
    pair = _const_input(ctx, add) if add is not None else None
    in_bias = np.asarray(ctx.array(pair[1])).reshape(-1) if pair else np.zeros(3 * dim, np.float32)
    if in_bias.shape != (3 * dim,):
        return False
    attrs = ctx.attrs(out_mm)
    out_weight = np.asarray(ctx.array(out_mm.input[1]))
    if out_mm.op_type == "MatMul" or not attrs.get("transB", 0):
        out_weight = out_weight.T
    out_bias = np.zeros(dim, np.float32)
    if out_mm.op_type == "Gemm" and len(out_mm.input) > 2 and out_mm.input[2]:
        out_bias = np.asarray(ctx.array(out_mm.input[2])).reshape(-1)
    else:
        bias_add = ctx.only_consumer(out_mm.output[0], ("Add",))
        bias_pair = _const_input(ctx, bias_add) if bias_add is not None else None
        if bias_pair:
            out_bias = np.asarray(ctx.array(bias_pair[1])).reshape(-1)
    if out_weight.shape != (dim, dim) or out_bias.shape != (dim,):
        return False
    softmax = inside[kinds.index("Softmax")]
    scores = ctx.shape(softmax.output[0])
    heads = int(np.prod(scores[:-2])) // batch
    if heads < 1 or dim % heads or scores[-1] != tokens or scores[-2] != tokens:
        return False
    scale = 1.0   # the product of the constant factors on the query and key paths
    for node in inside:
        pair = _const_input(ctx, node) if node.op_type in ("Mul", "Div") else None
        if pair and np.asarray(ctx.array(pair[1])).size == 1:
            value = float(np.asarray(ctx.array(pair[1])).reshape(-1)[0])
            scale *= value if node.op_type == "Mul" else 1.0 / value
    if not np.isclose(scale, (dim // heads) ** -0.5, rtol=1e-4):
        return False
    out_name = ctx.learned.get(out_mm.input[1]) or out_mm.input[1]
    path = module_path(out_name)
    name = path[:-len(".out_proj")] if path and path.endswith(".out_proj") else node_path(entry)
    params = {"in_proj_weight": in_weight, "in_proj_bias": in_bias, "out_proj.weight": out_weight,
              "out_proj.bias": out_bias}
    ctx.add(entry, {"type": "MultiheadAttention", "num_heads": heads}, [ctx.layer_of(entry.input[0])], params,
            output=exit_node.output[0], name=name or "self_attention")
    for node in inside + [exit_node]:
        ctx.absorbed[id(node)] = "fused into MultiheadAttention (torch's nn.MultiheadAttention)"
    return True
