"""The ``dataset`` section checked without opening a file: :data:`mm_train.registry.DATASETS`' ``check_func``.

    DATASETS.check({"type": "cifar10", "train": {"batch_size": 0}}, "dataset")
    # [ConfigError("dataset.train.batch_size: got 0 (expected a whole number from 1 to 2147483647)"), ...]

Each check returns ConfigErrors instead of raising, so that every problem of a recipe
is reported in one message (:func:`mm_train.config.schema.validate`).
"""
from __future__ import annotations

from typing import Any, Mapping

from mm_train.data import DATASET_KEYS, SPLIT_KEYS, SPLITS, SplitSettings, split_setting_errors
from mm_train.core.errors import ConfigError, closest
from mm_train.registry import DATASETS, check_arguments


def dataset_errors(dataset: Any, where: str = "dataset") -> list[ConfigError]:
    if not isinstance(dataset, Mapping):
        return [ConfigError(where, f"got {dataset!r}", expected="a mapping with type, train and eval")]
    try:
        reader = DATASETS.get(dataset.get("type"), f"{where}.type")
    except ConfigError as err:
        return [err]
    from mm_train.data.transforms import transform_errors   # nested lists, enum values
    errors = []
    shared = {k: v for k, v in dataset.items() if k not in DATASET_KEYS}
    per_split = {}
    for split in SPLITS:
        cfg = dataset.get(split) or {}
        if not isinstance(cfg, Mapping):
            errors.append(ConfigError(f"{where}.{split}", f"got {cfg!r}", expected="a mapping of split settings"))
            continue
        per_split[split] = {k: v for k, v in cfg.items() if k not in SPLIT_KEYS}
        for key in ("transforms", "batch_transforms"):
            if not isinstance(cfg.get(key) or [], list):
                errors.append(ConfigError(f"{where}.{split}.{key}", f"got {cfg[key]!r}",
                                          expected="a list of {type: NAME, ...}"))
                continue
            for i, spec in enumerate(cfg.get(key) or []):
                errors += transform_errors(spec, f"{where}.{split}.{key}[{i}]")
        errors += split_setting_errors(cfg, f"{where}.{split}")
        limit, batch = cfg.get("limit"), cfg.get("batch_size", SplitSettings.batch_size)
        drop = cfg.get("drop_remainder", SPLITS[split]["drop_remainder"])
        if isinstance(limit, int) and isinstance(batch, int) and drop and limit < batch:
            errors.append(ConfigError(f"{where}.{split}.batch_size",
                                      f"batch size {batch} is larger than limit {limit} with drop_remainder",
                                      expected=f"a batch size <= {limit}, or drop_remainder: false"))
    errors += column_errors(dataset.get("columns"), f"{where}.columns")
    errors += declared_column_errors(dataset, where)
    for split, args in per_split.items():
        try:
            check_arguments(reader, {**shared, **args}, f"{where}.{split}", given=dict.fromkeys(DATASETS.given))
        except ConfigError as err:
            errors += err.problems
    unique = {}
    for err in errors:                       # dataset-level keys show up once per split
        unique.setdefault(str(err), err)
    return list(unique.values())


def column_errors(columns: Any, where: str) -> list[ConfigError]:
    """``columns: {image: NAME, label: NAME}`` with plain names."""
    if columns is None:
        return []
    if not isinstance(columns, Mapping):
        return [ConfigError(where, f"got {columns!r}", expected="a mapping like {image: image, label: label}")]
    return [ConfigError(f"{where}.{key}", f"got {value!r}", expected="a column name (a string)")
            for key, value in columns.items() if not isinstance(value, str) or not value]


def declared_column_errors(dataset: Mapping[str, Any], where: str = "dataset") -> list[ConfigError]:
    """``columns`` must name the recipe's own declared ``features`` (TFRecord), before any file is opened."""
    columns, features = dataset.get("columns"), dataset.get("features")
    if not isinstance(columns, Mapping) or not isinstance(features, Mapping):
        return []
    return [ConfigError(f"{where}.columns.{role}", f"'{name}' is not a declared feature",
                        expected=f"one of {where}.features {sorted(map(str, features))}",
                        suggestions=closest(str(name), [str(f) for f in features]))
            for role, name in columns.items() if isinstance(name, str) and name not in features]
