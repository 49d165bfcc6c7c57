"""A component given with a ``type`` is given in full: in a child recipe and on the command line.

Hydra merges a child recipe's ``loss: {type: CrossEntropyLoss, label_smoothing: 0.1}`` into its
parent's ``loss: {type: SoftmaxCrossEntropyWithLogits, sparse: true, ...}``, which would hand the new
loss arguments of the old one. :func:`replace_retyped` drops the inherited keys of every component
the chosen recipe writes with a ``type`` (at every depth: a re-typed ``dataset`` does not keep the
parent's ``train.path`` or worker counts), and of every component the command line re-types::

    python run.py +recipe=quickstart 'loss={type: CrossEntropyLoss, label_smoothing: 0.1}'
    python run.py +recipe=quickstart loss.type=CrossEntropyLoss loss.label_smoothing=0.1

Keys set on the command line stay. :func:`swap_overrides` first makes such overrides composable (Hydra
refuses ``loss={...}`` with a key the recipe's loss lacks): ``loss={...}`` -> ``++loss={...}``, and
``loss.KEY=V`` beside a re-typing -> ``++loss.KEY=V``::

    replace_retyped(cfg, "my_recipe", swap_overrides(["loss.type=CrossEntropyLoss"]))
"""
from __future__ import annotations

from typing import Any, Sequence

from omegaconf import DictConfig, open_dict

from mm_train.config.schema import COMPONENTS

RETYPED = (*COMPONENTS, "loss_scale")


def _split(override: str) -> tuple[str, str, str | None]:
    """``++loss.type=X`` -> ("++", "loss.type", "X"); ``~loss`` -> ("~", "loss", None)."""
    body = override.lstrip("+~")
    prefix = override[:len(override) - len(body)]
    key, sep, value = body.partition("=")
    return prefix, key.strip(), value if sep else None


def _mapping_value(value: str | None) -> dict | None:
    """The mapping an override's value spells (``{type: X, a: 1}``), else None."""
    if value is None or not value.lstrip().startswith("{"):
        return None
    try:
        from hydra.core.override_parser.overrides_parser import OverridesParser
        parsed = OverridesParser.create().parse_overrides([f"x={value}"])[0].value()
    except Exception:  # noqa: BLE001 - Hydra reports a malformed override itself
        return None
    return parsed if isinstance(parsed, dict) else None


def retyped_on_command_line(overrides: Sequence[str]) -> dict[str, dict]:
    """The components the overrides re-type (``SECTION.type=X`` or ``SECTION={type: X, ...}``), each with
    what the command line gives it, as a nested mapping."""
    given: dict[str, dict] = {}
    retyped = set()
    for override in overrides:
        prefix, key, value = _split(override)
        if "~" in prefix:
            continue
        section, _, rest = key.partition(".")
        if section not in RETYPED:
            continue
        mapping = _mapping_value(value) if not rest else None
        if mapping is not None:
            given.setdefault(section, {}).update(mapping)
            if "type" in mapping:
                retyped.add(section)
        elif rest:
            node = given.setdefault(section, {})
            *parents, leaf = rest.split(".")
            for part in parents:
                node = node.setdefault(part, {}) if isinstance(node.get(part, {}), dict) else {}
            node[leaf] = value
            if rest == "type":
                retyped.add(section)
    return {section: given[section] for section in retyped}


def swap_overrides(overrides: Sequence[str]) -> list[str]:
    """``overrides`` with component swaps written so Hydra composes them (``++``: set or add)."""
    retyped = retyped_on_command_line(overrides)
    out = []
    for override in overrides:
        prefix, key, value = _split(override)
        section, _, rest = key.partition(".")
        swap = value is not None and prefix in ("", "+") and section in RETYPED and (
            (not rest and _mapping_value(value) is not None) or (section in retyped and rest))
        out.append(f"++{key}={value}" if swap else override)
    return out


def _own_keys(recipe: str) -> dict[str, Any]:
    """The chosen recipe's own keys when it inherits (has ``defaults``), else {}: as Hydra's composition
    loaded its file (:func:`mm_train.config.recipes.own_keys`), not read again."""
    from mm_train.config.recipes import own_keys

    own = own_keys(recipe)
    return own if isinstance(own, dict) and own.get("defaults") else {}


def _prune(node: DictConfig, written: dict, path: str, keep: set[str], dropped: list[str]) -> None:
    """Drop the keys of ``node`` that ``written`` lacks, at every depth, except those in ``keep`` (dotted)."""
    with open_dict(node):
        for key in [str(k) for k in node.keys()]:
            full = f"{path}.{key}"
            if any(k == full or k.startswith(full + ".") for k in keep):
                if key in written and isinstance(written[key], dict) and isinstance(node.get(key), DictConfig) \
                        and full not in keep:
                    _prune(node[key], written[key], full, keep, dropped)
                continue
            if key not in written:
                del node[key]
                dropped.append(full)
            elif isinstance(written[key], dict) and isinstance(node.get(key), DictConfig):
                _prune(node[key], written[key], full, keep, dropped)


def replace_retyped(cfg: DictConfig, recipe: str, overrides: Sequence[str] = ()) -> list[str]:
    """Drop from ``cfg`` the keys a re-typed component inherits (from a parent recipe, or from the recipe
    when the command line re-types it); return them."""
    on_command_line = {_split(o)[1] for o in overrides if "~" not in _split(o)[0]}
    from_command_line = retyped_on_command_line(overrides)
    own = _own_keys(recipe)
    dropped: list[str] = []
    for section in RETYPED:
        node = cfg.get(section)
        if not isinstance(node, DictConfig):
            continue
        if section in from_command_line:   # the command line gives the component in full
            _prune(node, from_command_line[section], section, set(), dropped)
            continue
        written = own.get(section)
        if isinstance(written, dict) and "type" in written:
            _prune(node, written, section, {k for k in on_command_line if k.startswith(section + ".")}, dropped)
    return dropped
