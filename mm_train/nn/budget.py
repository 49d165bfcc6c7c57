"""A network's parameter budget: each block's parameters are estimated from its spec and input shape
*before* it is built, so an oversized recipe stops with a message instead of exhausting memory.

    with limit(2_000_000_000):                      # build_network opens one per network
        charge({"type": "Dense", "out_channels": 2**31 - 1}, (4096,), "network.layers.fc")
    ConfigError: network.layers.fc: the network would have about 8,796,093,018,112 parameters ...

Blocks without an estimate (plugins, ``Sequential``, the MobileNet/ConvNeXt/transformer blocks) are
charged with their real count right after they are built, less what their parts built from other specs
already charged (a composite counts once, at any nesting depth); ``Residual`` and ``Repeat`` are
charged through their parts. A residual block (``Stage``'s) has a projection shortcut only where the
stride or the channels change.
"""
from __future__ import annotations

import contextlib
import contextvars
import math
from typing import Any, Callable, Mapping, Optional

from mm_train.core.errors import ConfigError
from mm_train.nn.shapes import pair

DEFAULT_MAX_PARAMS = 2_000_000_000


def max_params(config) -> int:
    """The job's ``limits.max_params`` (the default when the config has none; ``1e12`` is a whole number)."""
    return int(((config or {}).get("limits") or {}).get("max_params", DEFAULT_MAX_PARAMS))

_budget: contextvars.ContextVar = contextvars.ContextVar("mm_train_budget", default=None)


class _Budget:
    def __init__(self, max_params: int):
        self.max_params, self.total = int(max_params), 0


@contextlib.contextmanager
def limit(max_params: int):
    """Charge every block built inside against ``max_params`` (``limits.max_params``)."""
    budget = _Budget(max_params)
    token = _budget.set(budget)
    try:
        yield budget
    finally:
        _budget.reset(token)


def _conv(cin, cout, k=1, group=1, bias=False) -> int:
    kh, kw = pair(k)
    return cin * cout * kh * kw // max(1, group) + (cout if bias else 0)


def _projection(cin, cout, stride) -> int:
    """The 1x1 conv + BatchNorm shortcut of a residual block, present only where the stride or channels change."""
    return _conv(cin, cout) + 4 * cout if int(stride) != 1 or cin != cout else 0


def _bottleneck(cin, cout, expansion=4, stride=1, **_) -> int:
    c = cout // max(1, expansion)
    return cin * c + 9 * c * c + c * cout + 4 * (2 * c + cout) + _projection(cin, cout, stride)


def _basic(cin, cout, stride=1, **_) -> int:
    return 9 * cin * cout + 9 * cout * cout + 8 * cout + _projection(cin, cout, stride)


ESTIMATES: dict[str, Callable[..., int]] = {
    "Conv2d": lambda s, a: _conv(s[0], a["out_channels"], a["kernel_size"], a.get("group", 1), a.get("has_bias")),
    "Dense": lambda s, a: math.prod(s) * a["out_channels"] + a["out_channels"],
    "ConvBNReLU": lambda s, a: _conv(s[0], a["out_channels"], a.get("kernel_size", 3)) + 4 * a["out_channels"],
    "BatchNorm2d": lambda s, a: 4 * s[0], "BatchNorm1d": lambda s, a: 4 * s[0],
    "InstanceNorm2d": lambda s, a: 4 * s[0], "GroupNorm": lambda s, a: 2 * s[0],
    "ResidualBlock": lambda s, a: _bottleneck(s[0], a["out_channels"], a.get("expansion", 4), a.get("stride", 1)),
    "BasicBlock": lambda s, a: _basic(s[0], a["out_channels"], a.get("stride", 1)),
    "Parameter": lambda s, a: math.prod(a["shape"]),
}
COMPOSITE = {"Residual", "Repeat"}   # their parts are charged one by one as they are built
FREE = {"MaxPool2d", "AvgPool2d", "Flatten", "Dropout", "ReLU", "ReLU6", "GELU", "Sigmoid", "Tanh", "SiLU",
        "HSwish", "Softmax", "Identity", "LeakyReLU", "Pad", "AdaptiveAvgPool2d", "GlobalAvgPool",
        # graph blocks (mm_train.nn.merge, elementwise, tensor_shape): several input shapes, no parameters
        "Add", "Sub", "Mul", "Div", "Pow", "MatMul", "Concat", "Erf", "Sqrt", "Exp", "Log", "Neg", "Abs",
        "Reciprocal", "Clip", "HSigmoid", "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Slice", "Gather",
        "BroadcastBatch", "Expand", "ReduceMean", "ReduceSum"}


def estimate(spec: Mapping[str, Any], in_shape: tuple) -> Optional[int]:
    """Parameters (and BatchNorm statistics) of one block spec at ``in_shape``; None if unknown."""
    kind = spec.get("type")
    try:
        if kind in FREE or kind in COMPOSITE:
            return 0
        if kind == "Stage":
            inner = ESTIMATES.get(spec.get("block"))
            if inner is None:
                return None
            args = {k: v for k, v in spec.items() if k not in ("type", "block", "repeat", "stride")}
            first = inner(tuple(in_shape), {**args, "stride": spec.get("stride", 1)})
            rest = inner((int(spec["out_channels"]), *tuple(in_shape)[1:]), {**args, "stride": 1})
            return first + (int(spec["repeat"]) - 1) * rest
        if kind in ESTIMATES:
            return int(ESTIMATES[kind](tuple(int(s) for s in in_shape), spec))
    except (KeyError, TypeError, ValueError, IndexError):
        return None   # a malformed spec: the argument check that follows names the problem
    return None


def _add(count: int, where: str) -> None:
    budget = _budget.get()
    if budget is None:
        return
    budget.total += count
    if budget.total > budget.max_params:
        raise ConfigError(where, f"the network would have about {budget.total:,} parameters "
                          f"({budget.total * 4 / 1e9:,.1f} GB as float32) by this layer, more than "
                          f"limits.max_params={budget.max_params:,}",
                          expected="fewer or narrower layers, or a larger limits.max_params")


def charge(spec: Any, in_shape: tuple, where: str) -> bool:
    """Charge ``spec``'s estimate before it is built; False when it has none (charge it with :func:`charge_built`)."""
    if not isinstance(spec, Mapping):
        return True
    count = estimate(spec, in_shape)
    if count is None:
        return False
    _add(count, where)
    return True


def charged() -> int:
    """What the open budget holds so far (0 without one): pass it to :func:`charge_built`."""
    budget = _budget.get()
    return budget.total if budget is not None else 0


def charge_built(cell, where: str, since: int | None = None) -> None:
    """Charge a built cell with its real parameter count (blocks without an estimate), less what its parts
    charged while it was built (the budget's total was ``since`` before)."""
    inside = charged() - since if since is not None else 0
    _add(max(sum(p.size for p in cell.get_parameters()) - inside, 0), where)
