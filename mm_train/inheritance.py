"""A child recipe that writes a component's ``type`` gives that component in full.

Hydra merges a child recipe's ``loss: {type: CrossEntropyLoss, label_smoothing: 0.1}`` into its
parent's ``loss: {type: SoftmaxCrossEntropyWithLogits, sparse: true, ...}``, which would hand the new
loss arguments of the old one. :func:`replace_retyped` drops the inherited keys of every component
the chosen recipe writes with a ``type`` (keys set on the command line stay)::

    replace_retyped(cfg, "my_recipe", ["loss.reduction=sum"])
"""
from __future__ import annotations

from typing import Sequence

import yaml
from omegaconf import DictConfig, open_dict

from mm_train.config import COMPONENTS
from mm_train.errors import ConfigError

RETYPED = (*COMPONENTS, "loss_scale")


def replace_retyped(cfg: DictConfig, recipe: str, overrides: Sequence[str] = ()) -> list[str]:
    """Drop from ``cfg`` the keys the chosen recipe inherits for a component it re-types; return them."""
    from mm_train.recipes import find

    found = find(recipe)
    if found is None:
        return []
    try:
        own = yaml.safe_load(found.text()) or {}   # composition has checked it (bounds, links)
    except (yaml.YAMLError, ConfigError):
        return []   # composition reports it
    if not isinstance(own, dict) or not own.get("defaults"):
        return []
    on_command_line = {o.lstrip("+~").split("=", 1)[0] for o in overrides}
    dropped = []
    for section in RETYPED:
        written = own.get(section)
        node = cfg.get(section)
        if not isinstance(written, dict) or "type" not in written or not isinstance(node, DictConfig):
            continue
        with open_dict(node):
            for key in [str(k) for k in node.keys()]:
                if key not in written and f"{section}.{key}" not in on_command_line:
                    del node[key]
                    dropped.append(f"{section}.{key}")
    return dropped
