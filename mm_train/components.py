"""Static checks of the component sections against the registries, without building anything.

Each check returns ConfigErrors instead of raising, so that every problem of a
recipe is reported in one message (see :func:`mm_train.config.validate`).
"""
from __future__ import annotations

from typing import Any, Callable, Literal, Mapping, Optional, Sequence, Union

from mm_train.argtypes import NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt, Workers, type_problem

from mm_train.errors import ConfigError, closest
from mm_train.registry import (BLOCKS, CALLBACKS, DATASETS, LOSSES, LR_SCHEDULES, OPTIMIZERS, TRANSFORMS,
                               check_arguments)


def _collect(check: Callable[[], Any]) -> list[ConfigError]:
    try:
        check()
    except ConfigError as err:
        return list(err.problems)
    return []


def dataset_errors(dataset: Any) -> list[ConfigError]:
    from mm_train.data import DATASET_KEYS, SPLIT_KEYS, SPLITS

    if not isinstance(dataset, Mapping):
        return [ConfigError("dataset", f"got {dataset!r}", expected="a mapping with type, train and eval")]
    try:
        reader = DATASETS.get(dataset.get("type"), "dataset.type")
    except ConfigError as err:
        return [err]
    errors = []
    shared = {k: v for k, v in dataset.items() if k not in DATASET_KEYS}
    per_split = {}
    for split in SPLITS:
        cfg = dataset.get(split) or {}
        if not isinstance(cfg, Mapping):
            errors.append(ConfigError(f"dataset.{split}", f"got {cfg!r}", expected="a mapping of split settings"))
            continue
        per_split[split] = {k: v for k, v in cfg.items() if k not in SPLIT_KEYS}
        for key in ("transforms", "batch_transforms"):
            if not isinstance(cfg.get(key) or [], list):
                errors.append(ConfigError(f"dataset.{split}.{key}", f"got {cfg[key]!r}",
                                          expected="a list of {type: NAME, ...}"))
                continue
            from mm_train.data.transforms import transform_errors   # nested lists, enum values
            for i, spec in enumerate(cfg.get(key) or []):
                errors += transform_errors(spec, f"dataset.{split}.{key}[{i}]")
        errors += split_setting_errors(cfg, f"dataset.{split}")
        limit, batch = cfg.get("limit"), cfg.get("batch_size", 32)
        drop = cfg.get("drop_remainder", SPLITS[split]["drop_remainder"])
        if isinstance(limit, int) and isinstance(batch, int) and drop and limit < batch:
            errors.append(ConfigError(f"dataset.{split}.batch_size",
                                      f"batch size {batch} is larger than limit {limit} with drop_remainder",
                                      expected=f"a batch size <= {limit}, or drop_remainder: false"))
    errors += column_errors(dataset.get("columns"), "dataset.columns")
    errors += declared_column_errors(dataset)
    for split, args in per_split.items():
        errors += _collect(lambda: check_arguments(reader, {**shared, **args}, f"dataset.{split}",
                                                   given=dict.fromkeys(DATASETS.given)))
    unique = {}
    for err in errors:                       # dataset-level keys show up once per split
        unique.setdefault(str(err), err)
    return list(unique.values())


# pipeline settings of a split: (hint, what a user reads); checked before any data is opened
SPLIT_SETTINGS = {"batch_size": PositiveInt, "limit": Optional[PositiveInt],
                  "num_parallel_workers": Union[Workers, Literal["auto"]],
                  "shuffle": bool, "drop_remainder": bool, "num_shards": Optional[PositiveInt],
                  "shard_id": Optional[NonNegativeInt],
                  "repeated_aug": Optional[Union[PositiveInt, Mapping]]}   # mm_train.data.samplers


def split_setting_errors(cfg: Mapping[str, Any], where: str) -> list[ConfigError]:
    """``num_parallel_workers: 0``, ``batch_size: 2**63``, ``shuffle: abc``: each with its key path."""
    errors = []
    for key, hint in SPLIT_SETTINGS.items():
        if key in cfg and (expected := type_problem(cfg[key], hint)):
            errors.append(ConfigError(f"{where}.{key}", f"got {cfg[key]!r}", expected=expected))
    return errors


def column_errors(columns: Any, where: str) -> list[ConfigError]:
    """``columns: {image: NAME, label: NAME}`` with plain names."""
    if columns is None:
        return []
    if not isinstance(columns, Mapping):
        return [ConfigError(where, f"got {columns!r}", expected="a mapping like {image: image, label: label}")]
    return [ConfigError(f"{where}.{key}", f"got {value!r}", expected="a column name (a string)")
            for key, value in columns.items() if not isinstance(value, str) or not value]


def declared_column_errors(dataset: Mapping[str, Any]) -> list[ConfigError]:
    """``columns`` must name the recipe's own declared ``features`` (TFRecord), before any file is opened."""
    columns, features = dataset.get("columns"), dataset.get("features")
    if not isinstance(columns, Mapping) or not isinstance(features, Mapping):
        return []
    return [ConfigError(f"dataset.columns.{role}", f"'{name}' is not a declared feature",
                        expected=f"one of dataset.features {sorted(map(str, features))}",
                        suggestions=closest(str(name), [str(f) for f in features]))
            for role, name in columns.items() if isinstance(name, str) and name not in features]


def optimizer_key_errors(spec: Any, where: str = "optimizer") -> list[ConfigError]:
    """The keys build_optimizer reads itself: weight_decay, no_decay, param_groups, clip_grad_norm."""
    if not isinstance(spec, Mapping):
        return []
    errors = []
    for key, hint in (("weight_decay", NonNegativeFloat), ("clip_grad_norm", Optional[PositiveFloat]),
                      ("no_decay", Sequence[str])):
        if key in spec and (expected := type_problem(spec[key], hint)):
            errors.append(ConfigError(f"{where}.{key}", f"got {spec[key]!r}", expected=expected))
    groups = spec.get("param_groups")
    if groups is not None and not isinstance(groups, list):
        return errors + [ConfigError(f"{where}.param_groups", f"got {groups!r}",
                                     expected="a list of {params: [GLOB, ...], lr_scale: X, weight_decay: X}")]
    for i, group in enumerate(groups or []):
        here = f"{where}.param_groups[{i}]"
        if not isinstance(group, Mapping):
            errors.append(ConfigError(here, f"got {group!r}", expected="{params: [GLOB, ...], lr_scale: X}"))
            continue
        params = group.get("params")
        if type_problem(params, Union[str, Sequence[str]]):
            errors.append(ConfigError(f"{here}.params", f"got {params!r}", expected="a glob or a list of globs"))
        for key in ("lr_scale", "weight_decay"):
            if key in group and (expected := type_problem(group[key], float)):
                errors.append(ConfigError(f"{here}.{key}", f"got {group[key]!r}", expected=expected))
    return errors


def network_errors(network: Any) -> list[ConfigError]:
    from mm_train.nn.builder import NETWORK_KEYS

    if not isinstance(network, Mapping):
        return [ConfigError("network", f"got {network!r}", expected="a mapping with input_shape and layers")]
    errors = [ConfigError(f"network.{k}", "unknown key", expected=f"one of {list(NETWORK_KEYS)}",
                          suggestions=closest(str(k), NETWORK_KEYS)) for k in network if k not in NETWORK_KEYS]
    from mm_train.nn.defaults import apply_defaults, defaults_errors
    errors += defaults_errors(network.get("defaults"))
    layers = network.get("layers")
    if isinstance(network.get("defaults"), Mapping):
        layers = apply_defaults(layers, network["defaults"])
    if not isinstance(layers, Mapping) or not layers:
        return errors + [ConfigError("network.layers", f"got {layers!r}",
                                     expected="a mapping of layer name -> {type: BLOCK, ...}")]
    from mm_train.nn.wiring import wiring_errors
    errors += wiring_errors(network)
    for name, spec in layers.items():
        where = f"network.layers.{name}"
        errors += block_errors(spec, where)
    return errors


NESTED_BLOCKS = ("layers", "body")    # arguments that hold block specs (Sequential, Residual); Repeat: block


def block_errors(spec: Any, where: str) -> list[ConfigError]:
    """One block spec's problems, and those of the blocks nested in it (Repeat's ``block``, Sequential's
    ``layers``, Residual's ``body``), each with its own key path."""
    if isinstance(spec, Mapping) and isinstance(spec.get("block"), str) and spec.get("type") in BLOCKS:
        return _block_holder_errors(spec, where)
    errors = BLOCKS.check(spec, where)
    if errors or not isinstance(spec, Mapping):
        return errors
    if isinstance(spec.get("block"), Mapping):
        errors += block_errors(spec["block"], f"{where}.block")
    for key in NESTED_BLOCKS:
        inner = spec.get(key)
        items = (inner.items() if isinstance(inner, Mapping) else enumerate(inner) if isinstance(inner, list) else ())
        for name, child in items:
            path = f"{where}.{key}[{name}]" if isinstance(name, int) else f"{where}.{key}.{name}"
            if isinstance(child, Mapping) and "times" in child:     # Sequential list items may repeat
                child = {k: v for k, v in child.items() if k != "times"}
            errors += block_errors(child, path)
    return errors


def _block_holder_errors(spec: Mapping[str, Any], where: str) -> list[ConfigError]:
    """A block that repeats another (``Stage``): its own arguments, then the inner block's."""
    import inspect
    outer = BLOCKS.get(spec["type"], f"{where}.type")
    own = [p for p in list(inspect.signature(outer).parameters)[1:]]
    try:
        inner = BLOCKS.get(spec["block"], f"{where}.block")
    except ConfigError as err:
        return [err]
    rest = {k: v for k, v in spec.items() if k not in own and k != "type"}
    passed = {k: spec[k] for k in ("out_channels", "stride") if k in spec}
    errors = _collect(lambda: check_arguments(outer, {k: spec[k] for k in own if k in spec}, where, skip=1))
    return errors + _collect(lambda: check_arguments(inner, {**passed, **rest}, where, skip=1))


def component_errors(cfg: Mapping[str, Any]) -> list[ConfigError]:
    from mm_train.amp import loss_scale_errors

    errors = []
    if cfg.get("dataset") is not None:
        errors += dataset_errors(cfg["dataset"])
    if cfg.get("network") is not None:
        errors += network_errors(cfg["network"])
    for key, registry in (("loss", LOSSES), ("optimizer", OPTIMIZERS), ("lr_schedule", LR_SCHEDULES)):
        if cfg.get(key) is not None:
            errors += registry.check(cfg[key], key)
    errors += optimizer_key_errors(cfg.get("optimizer"))
    from mm_train.lr_schedules import schedule_key_errors
    errors += schedule_key_errors(cfg.get("lr_schedule"))
    for i, spec in enumerate(cfg.get("callbacks") or [] if isinstance(cfg.get("callbacks"), list) else []):
        errors += CALLBACKS.check(spec, f"callbacks[{i}]")
    device = cfg.get("device") if isinstance(cfg.get("device"), Mapping) else {}
    errors += loss_scale_errors(cfg.get("loss_scale") or {}, device.get("target", "CPU"))
    return errors
