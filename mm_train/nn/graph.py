"""A network whose layers name their ``inputs``: built by shape inference over the graph, run as one Cell.

    cell, infos = build_graph(layers, (3, 32, 32), wiring(layers, output), "network.layers")

The Cell is a ``CellList`` of steps run in order. The live values travel as a tuple; each step
picks its inputs by constant positions, calls its layer and passes on the values still needed.
That unrolls in GRAPH mode (no loop counter, no growing tuple) and runs as plain Python in PyNative.

Parameters are named by the layer names, which may contain dots (``features.0.conv1.weight``): a
layer's own parameter names are prefixed with its name, a ``Parameter`` layer's is its name.
"""
from __future__ import annotations

from typing import Any, Mapping

from mindspore import nn

from mm_train.core.errors import ConfigError
from mm_train.nn.compose import LayerInfo, build_one
from mm_train.nn.shapes import Unbatched, is_unbatched
from mm_train.nn.wiring import INPUT, Wiring
from mm_train.registry import BLOCKS

MANY = "many"   # ``BLOCKS.register(..., inputs=MANY)``: a merge block (2 or more inputs)
# blocks that keep their input's shape element by element (an unbatched input stays unbatched)
ELEMENTWISE = {"ReLU", "ReLU6", "GELU", "Sigmoid", "Tanh", "SiLU", "HSwish", "HSigmoid", "LeakyReLU", "Identity",
               "Dropout"}


def elementwise(kind: str) -> bool:
    return kind in ELEMENTWISE or bool(BLOCKS.meta(kind).get("elementwise"))


def arity(kind: str):
    """How many inputs a block takes: 1 (most), 0 (a source such as Parameter), an int, or MANY."""
    return BLOCKS.meta(kind).get("inputs", 1) if kind in BLOCKS else 1


def pick(values, positions):
    """``values`` at the constant ``positions`` (a tuple), spelled out for the graph compiler."""
    n = len(positions)
    if n == 0:
        return ()
    if n == 1:
        return (values[positions[0]],)
    if n == 2:
        return (values[positions[0]], values[positions[1]])
    if n == 3:
        return (values[positions[0]], values[positions[1]], values[positions[2]])
    out = ()
    for p in positions:
        out = out + (values[p],)
    return out


class Step(nn.Cell):
    """One layer of a graph: ``live -> (*live[keep], layer(*live[sources]))``."""

    def __init__(self, layer, sources: tuple, keep: tuple):
        super().__init__(auto_prefix=False)
        self.layer, self.sources, self.keep = layer, sources, keep

    def construct(self, live):
        if len(self.sources) == 1:
            y = self.layer(live[self.sources[0]])
        else:
            y = self.layer(*pick(live, self.sources))
        return pick(live, self.keep) + (y,)


class Chain(nn.Cell):
    """Layers that only feed each other, run as one step: ``rest(...(first(*xs)))``."""

    def __init__(self, first, rest: list):
        super().__init__(auto_prefix=False)
        self.first, self.rest = first, nn.CellList(rest)

    def construct(self, *xs):
        y = self.first(*xs)
        for cell in self.rest:
            y = cell(y)
        return y


class GraphCell(nn.Cell):
    """Runs ``steps`` in order on ``(x,)`` and returns the live value at ``output``."""

    def __init__(self, steps, output: int):
        super().__init__(auto_prefix=False)
        self.steps = nn.CellList(steps)
        self.output = output

    def construct(self, x):
        live = (x,)
        for step in self.steps:
            live = step(live)
        return live[self.output]


def groups(w: Wiring) -> list:
    """Runs of layers ``[i, i + 1, ...]`` where each later one takes only the one before, which nothing else
    reads: each run is one step (fewer steps, a faster GRAPH-mode compile)."""
    uses = [0] * (len(w.names) + 1)
    for srcs in w.sources:
        for s in srcs:
            uses[s] += 1
    runs = []
    for i, srcs in enumerate(w.sources):
        if runs and srcs == (i,) and uses[i] == 1 and w.output != i:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def plan(w: Wiring) -> tuple[list, int]:
    """Per run of layers ``(layers, sources, keep)``, sources and keep as positions in the live tuple, and the
    output's final position."""
    last = w.consumers_last()
    live, steps = [0], []
    for run in groups(w):
        sources = tuple(live.index(s) for s in w.sources[run[0]])
        kept = [n for n in live if last[n] > run[-1]]
        steps.append((run, sources, tuple(live.index(n) for n in kept)))
        live = kept + [run[-1] + 1]
    return steps, live.index(w.output)


def _input_shape(shapes: list, kind: str, path: str):
    """What the factory of a ``kind`` block with these input shapes gets (its arity checked)."""
    want = arity(kind)
    count = len(shapes)
    if want == MANY and count < 2 or want != MANY and count != want:
        need = "2 or more inputs" if want == MANY else f"{want} input{'s' if want != 1 else ''}"
        raise ConfigError(f"{path}.inputs", f"{kind} takes {need} but gets {count}",
                          expected=f"inputs: [{', '.join(['LAYER'] * (2 if want == MANY else want))}]"
                          if want != 1 else "inputs: LAYER (one earlier layer or 'input')")
    if want == MANY or want > 1:
        return tuple(shapes)
    if want == 0:
        return ()
    if is_unbatched(shapes[0]) and not elementwise(kind) and not BLOCKS.meta(kind).get("takes_unbatched"):
        raise ConfigError(path, f"{kind} needs a batched input but gets a tensor without a batch axis "
                          f"(shape {tuple(shapes[0])}, from a Parameter whose shape does not start with 1)")
    return shapes[0]


def build_graph(layers: Mapping[str, Any], shape: tuple, w: Wiring, where: str):
    """``(GraphCell, [LayerInfo])`` for ``layers`` wired by ``w``, by shape inference over the graph."""
    shapes, cells, infos = [tuple(shape)], [], []
    for i, name in enumerate(w.names):
        spec, path = layers[name], f"{where}.{name}"
        if not isinstance(spec, Mapping) or "type" not in spec:
            raise ConfigError(path, f"got {spec!r}", expected="a mapping like {type: BLOCK, ...}")
        kind = spec["type"]
        BLOCKS.get(kind, f"{path}.type")
        ins = [shapes[s] for s in w.sources[i]]
        cell, out = build_one(spec, path, _input_shape(ins, kind, path))
        if ins and elementwise(kind) and is_unbatched(ins[0]):
            out = Unbatched(out)
        shapes.append(out if is_unbatched(out) else tuple(out))
        cells.append(cell)
        names = tuple(INPUT if s == 0 else w.names[s - 1] for s in w.sources[i])
        infos.append(LayerInfo(name, kind, shapes[-1], sum(p.size for p in cell.trainable_params()),
                               ins[0] if len(ins) == 1 else tuple(ins), names))
    steps, output = plan(w)
    graph = GraphCell([Step(cells[run[0]] if len(run) == 1 else Chain(cells[run[0]], [cells[i] for i in run[1:]]),
                            sources, keep) for run, sources, keep in steps], output)
    graph.layer_cells = dict(zip(w.names, cells))   # for task=check: each layer run on its own
    graph.output_shape = shapes[w.output]
    name_parameters(cells, w.names, where)
    return graph, infos, shapes[w.output]


def name_parameters(cells: list, names: list, where: str) -> None:
    """``layer.param`` for each layer's parameters (a Parameter layer's: the layer name); duplicates are an error."""
    owner: dict = {}
    for cell, name in zip(cells, names):
        own = getattr(cell, "parameter_name", None)   # a Parameter layer names its one parameter itself
        for rel, param in cell.parameters_and_names():
            full = name if own is not None else f"{name}.{rel}"
            if full in owner:
                raise ConfigError(f"{where}.{name}", f"parameter '{full}' is also a parameter of layer "
                                  f"'{owner[full]}'", expected="layer names that do not collide")
            owner[full] = name
            param.name = full
