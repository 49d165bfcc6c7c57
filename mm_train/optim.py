"""Optimizers by name, with parameter groups.

    optimizer: {type: Momentum, momentum: 0.9, weight_decay: 1.0e-4, no_decay: [gamma, beta, bias]}

Parameters whose name contains one of the ``no_decay`` substrings get no weight
decay (the model zoo's rule for BatchNorm and biases). The learning rate comes
from ``lr_schedule``; ``loss_scale`` from :mod:`mm_train.amp`.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from mindspore import nn

from mm_train.registry import OPTIMIZERS, check_arguments

DEFAULT_NO_DECAY = ("gamma", "beta", "bias")
GROUP_KEYS = ("weight_decay", "no_decay")   # read by build_optimizer, not passed to the factory


@OPTIMIZERS.register("Momentum")
def momentum(params, learning_rate, loss_scale=1.0, momentum=0.9, nesterov=False):
    return nn.Momentum(params, learning_rate, momentum, use_nesterov=nesterov, loss_scale=loss_scale)


def param_groups(params: Sequence, weight_decay: float, no_decay: Sequence[str]) -> list[dict[str, Any]]:
    """Split ``params`` into a decayed and an undecayed group, keeping their order."""
    if not weight_decay:
        return [{"params": list(params), "weight_decay": 0.0}]
    decay = [p for p in params if not any(s in p.name for s in no_decay)]
    rest = [p for p in params if any(s in p.name for s in no_decay)]
    groups = [{"params": decay, "weight_decay": float(weight_decay)}]
    if rest:
        groups.append({"params": rest, "weight_decay": 0.0})
    return groups + [{"order_params": list(params)}]


def build_optimizer(spec: Mapping[str, Any], params: Sequence, learning_rate, loss_scale: float,
                    where: str = "optimizer"):
    spec = dict(spec)
    weight_decay = spec.pop("weight_decay", 0.0)
    no_decay = spec.pop("no_decay", DEFAULT_NO_DECAY)
    factory = OPTIMIZERS.get(spec.pop("type", None), f"{where}.type")
    check_arguments(factory, spec, where, skip=2, given={"loss_scale": loss_scale})
    return factory(param_groups(params, weight_decay, no_decay), learning_rate, loss_scale=loss_scale, **spec)
