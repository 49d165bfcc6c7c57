"""The shape of a composed config, checked before anything is built.

Fixed sections (``train``, ``device``, ``paths``) have dataclass schemas;
component sections (``dataset``, ``network``, ``loss``...) are checked against
the registries when they are built. Every problem found here is reported at once.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Mapping, Optional

from omegaconf import OmegaConf
from omegaconf.errors import ValidationError

from mm_train.errors import ConfigError, closest

TASKS = ("train", "eval", "export")
COMPONENTS = ("dataset", "network", "loss", "optimizer", "lr_schedule")


@dataclass
class TrainSchema:
    epochs: int = 1
    eval_interval: int = 1
    amp_level: str = "O0"


@dataclass
class DeviceSchema:
    target: str = "CPU"
    mode: str = "graph"
    device_id: int = 0
    dataset_sink_mode: bool = False
    onednn_max_cpu_isa: Optional[str] = None
    log_level: int = 3


@dataclass
class PathsSchema:
    data: str = "data"
    bundled: str = ""


SECTIONS = {"train": TrainSchema, "device": DeviceSchema, "paths": PathsSchema}
TOP_LEVEL = ("task", "seed", "init_from", "loss_scale", "callbacks", "resume", "export", *SECTIONS, *COMPONENTS)
RANGES = {"train.epochs": 1, "train.eval_interval": 0, "device.device_id": 0}
AMP_LEVELS = ("O0", "O1", "O2", "O3", "auto")


def _section_errors(name: str, values: Any, schema) -> list[ConfigError]:
    if not isinstance(values, Mapping):
        return [ConfigError(name, f"got {values!r}", expected="a mapping")]
    names = [f.name for f in fields(schema)]
    errors = []
    for key, value in values.items():
        path = f"{name}.{key}"
        if key not in names:
            errors.append(ConfigError(path, "unknown key", expected=f"one of {names}",
                                      suggestions=closest(key, names)))
            continue
        try:
            OmegaConf.merge(OmegaConf.structured(schema), {key: value})
        except ValidationError:
            kind = next(f.type for f in fields(schema) if f.name == key)
            errors.append(ConfigError(path, f"got {value!r}", expected=f"a value of type {kind}"))
            continue
        if path in RANGES and isinstance(value, int) and value < RANGES[path]:
            errors.append(ConfigError(path, f"got {value}", expected=f"a whole number >= {RANGES[path]}"))
    return errors


def validate(cfg: Mapping[str, Any]) -> None:
    """Raise one ConfigError listing every problem in the resolved config ``cfg``."""
    errors = [ConfigError(str(key), "unknown top-level key", expected="a key of the recipe or conf/config.yaml",
                          suggestions=closest(str(key), TOP_LEVEL))
              for key in cfg if key not in TOP_LEVEL]
    errors += [ConfigError(key, "missing", expected=f"a '{key}' section in the recipe")
               for key in COMPONENTS if cfg.get(key) is None]
    for name, schema in SECTIONS.items():
        errors += _section_errors(name, cfg.get(name, {}), schema)
    if cfg.get("task") not in TASKS:
        errors.append(ConfigError("task", f"unknown task '{cfg.get('task')}'", expected=f"one of {list(TASKS)}",
                                  suggestions=closest(str(cfg.get("task")), TASKS)))
    amp = (cfg.get("train") or {}).get("amp_level", "O0")
    if amp not in AMP_LEVELS:
        errors.append(ConfigError("train.amp_level", f"got {amp!r}", expected=f"one of {list(AMP_LEVELS)}",
                                  suggestions=closest(str(amp), AMP_LEVELS)))
    if not isinstance(cfg.get("callbacks", []), list):
        errors.append(ConfigError("callbacks", "not a list", expected="a list of {type: NAME, ...}"))
    if errors:
        raise ConfigError.collect(errors)
