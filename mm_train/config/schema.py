"""The shape of a composed config, checked before anything is built.

Fixed sections (``train``, ``device``, ``paths``, ``debug``) have dataclass
schemas; component sections (``dataset``, ``network``, ``loss``...) are checked
against the registries and the factories' signatures. Every problem is reported
at once::

    validate(config)   # raises ConfigError listing each key path with "did you mean"
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, fields
from typing import Any, Iterator, Mapping, Optional

from mm_train.learning.amp import amp_level_errors, loss_scale_errors
from mm_train.core.argtypes import ParamCount, hints, type_problem
from mm_train.core.errors import ConfigError, closest
from mm_train.core.metrics import callback_metric_errors, metrics_errors
from mm_train.registry import CALLBACKS, DATASETS, LOSSES, LR_SCHEDULES, OPTIMIZERS, Registry
from mm_train.run_dir.paths import RULE as NAME_RULE, name_problem

COMPONENTS = ("dataset", "network", "loss", "optimizer", "lr_schedule")
CODE_KEYS = ("_target_", "_partial_", "_args_", "_recursive_", "_convert_")


# The fixed sections' types. Their defaults live in one place, conf/config.yaml (the device and debug
# groups change what differs): tests/test_config_defaults.py keeps the two in step.
@dataclass
class TrainSchema:
    epochs: int
    eval_interval: int
    amp_level: str
    metric: str                  # the eval metric a sweep optimises (returned to Hydra's sweeper)
    metrics: Optional[list]      # eval metrics: [acc, acc5] (mm_train/core/metrics.py); null = [acc]
    scale_lr_by_devices: bool    # multiply the lr schedule by the number of devices (data parallel)
    ema_decay: Optional[float]   # EMA of the weights (mm_train/learning/ema.py); null = off
    ema_every: int               # update the EMA every N optimizer steps (torchvision's model_ema_steps)
    ema_warmup: bool             # timm's EMA warm-up: decay min(d, (1 + t) / (10 + t))
    ema_reset_during_warmup: bool   # torchvision: the EMA copies the weights during lr warm-up
    eval_start_epoch: int        # no evaluation before this epoch (MindCV's val_start_epoch)
    grad_accumulation: int       # micro-batches per optimizer step (mm_train/learning/train_step.py)


@dataclass
class PredictSchema:             # task=predict (mm_train/tasks/predict.py)
    input: Optional[str]         # an image file, a folder of images, or a folder of class folders
    model: Optional[str]         # an exported FILE.mindir instead of the recipe's network + init_from
    top_k: int                   # capped at the number of classes
    batch_size: Optional[int]    # null: dataset.eval.batch_size


@dataclass
class DeviceSchema:
    target: str
    mode: str
    device_id: int
    dataset_sink_mode: bool
    onednn_max_cpu_isa: Optional[str]
    log_level: int
    compile_cache: bool          # MindSpore's graph compile cache, a folder per graph config (compile_cache.py)


@dataclass
class PathsSchema:
    data: str
    bundled: str


@dataclass
class DebugSchema:
    mode: str                    # none | fast | overfit | small
    train_limit: Optional[int]
    eval_limit: Optional[int]
    batch_size: Optional[int]
    epochs: Optional[int]
    augmentation: bool
    loss_scale: Optional[str]
    overfit_loss: float          # overfit: the loss one repeated batch must fall below


@dataclass
class LimitsSchema:
    max_params: ParamCount       # up to 1e12; a network above this many parameters is refused before it is built


SECTIONS = {"train": TrainSchema, "device": DeviceSchema, "paths": PathsSchema, "debug": DebugSchema,
            "predict": PredictSchema, "limits": LimitsSchema}
TOP_LEVEL = ("task", "seed", "init_from", "loss_scale", "callbacks", "resume", "resume_replay", "export", "overwrite",
             "resume_changes", *SECTIONS, *COMPONENTS)
RANGES = {"train.epochs": 1, "train.eval_interval": 0, "device.device_id": 0, "seed": 0,
          "limits.max_params": 1, "debug.train_limit": 1, "debug.eval_limit": 1, "debug.batch_size": 1, "debug.epochs": 1,
          "train.grad_accumulation": 1, "train.ema_every": 1, "train.eval_start_epoch": 1, "train.ema_decay": 0, "predict.top_k": 1, "predict.batch_size": 1}
BELOW = {"train.ema_decay": 1}   # exclusive upper bounds
DEBUG_MODES = ("none", "fast", "overfit", "small")


def walk(node: Any, path: str = "") -> Iterator[tuple[str, Any, Any]]:
    """Every (key path, key, value) in nested dicts and lists."""
    items = node.items() if isinstance(node, Mapping) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        here = f"{path}[{key}]" if isinstance(key, int) else (f"{path}.{key}" if path else str(key))
        yield here, key, value
        yield from walk(value, here)


def code_errors(cfg: Mapping[str, Any]) -> list[ConfigError]:
    """Hydra's instantiate keys and import paths: a recipe must never import or run code."""
    errors = []
    for path, key, value in walk(cfg):
        if key in CODE_KEYS:
            errors.append(ConfigError(path, f"'{key}' is not allowed: recipes cannot import or run code",
                                      expected="components named by registry: {type: NAME} (mm-train blocks ls)"))
        elif key == "type" and isinstance(value, str) and ("." in value or ":" in value):
            errors.append(ConfigError(path, f"'{value}' looks like an import path; recipes cannot import code",
                                      expected="a registered name (mm-train blocks ls) or an installed plugin"))
    return errors


def _check_value(path: str, value: Any, schema, key: str) -> Optional[ConfigError]:
    hint = hints(schema)[key]
    whole = hint is int or set(getattr(hint, "__args__", ())) == {int, type(None)}
    expected = type_problem(value, hint)
    if expected and path in RANGES and whole:   # one wording for 1.5 and for 0
        expected = f"a whole number >= {RANGES[path]}"
    if expected:
        return ConfigError(path, f"got {value!r}", expected=expected)
    if path in RANGES and isinstance(value, (int, float)) and not isinstance(value, bool) and value < RANGES[path]:
        return ConfigError(path, f"got {value}", expected=f"a {'whole ' if whole else ''}number >= {RANGES[path]}")
    if path in BELOW and isinstance(value, (int, float)) and value >= BELOW[path]:
        return ConfigError(path, f"got {value}", expected=f"a number in [{RANGES[path]}, {BELOW[path]})")
    return None


def section_errors(name: str, values: Any, schema) -> list[ConfigError]:
    if values is None:
        return []
    if not isinstance(values, Mapping):
        return [ConfigError(name, f"got {values!r}", expected="a mapping")]
    names = [f.name for f in fields(schema)]
    errors = []
    for key, value in values.items():
        path = f"{name}.{key}"
        if key not in names:
            errors.append(ConfigError(path, "unknown key", expected=f"one of {names}",
                                      suggestions=closest(str(key), names)))
        elif (error := _check_value(path, value, schema, key)) is not None:
            errors.append(error)
    return errors


def choice_error(path: str, value: Any, choices) -> list[ConfigError]:
    if value in choices:
        return []
    return [ConfigError(path, f"got {value!r}", expected=f"one of {list(choices)}",
                        suggestions=closest(str(value), choices))]


def task_errors(cfg: Mapping[str, Any], tasks: Registry) -> list[ConfigError]:
    """``task`` one of ``tasks`` (:data:`mm_train.registry.TASKS`, filled by the task modules
    :mod:`mm_train.jobs` imports), and what the task declares it needs."""
    errors = choice_error("task", cfg.get("task"), tasks.names())
    if cfg.get("task") in tasks and tasks.meta(cfg["task"]).get("needs_weights") and not cfg.get("init_from"):
        errors.append(ConfigError("init_from", f"task={cfg['task']} needs weights", expected="init_from=PATH.ckpt"))
    return errors   # before a run directory is touched


def structure_errors(cfg: Mapping[str, Any], tasks: Registry | None = None) -> list[ConfigError]:
    """Problems that need no component registry: keys, types, ranges, choices, code; the task among ``tasks``."""
    errors = code_errors(cfg)
    errors += [ConfigError(str(key), "unknown top-level key", expected="a key of the recipe or conf/config.yaml",
                           suggestions=closest(str(key), TOP_LEVEL))
               for key in cfg if key not in TOP_LEVEL]
    errors += [ConfigError(key, "missing", expected=f"a '{key}' section in the recipe")
               for key in COMPONENTS if cfg.get(key) is None]
    errors += [ConfigError(key, "missing", expected=f"the '{key}' section of conf/ (do not delete it)")
               for key in ("train", "device") if not isinstance(cfg.get(key), Mapping)]
    for name, schema in SECTIONS.items():
        errors += section_errors(name, cfg.get(name, {}), schema)
    if tasks is not None:
        errors += task_errors(cfg, tasks)
    seed = cfg.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or seed < 0):
        errors.append(ConfigError("seed", f"got {seed!r}", expected="a whole number >= 0, or null (a fresh seed, "
                                                                     "recorded in run_info.json)"))
    if not isinstance(cfg.get("overwrite", False), bool):
        errors.append(ConfigError("overwrite", f"got {cfg.get('overwrite')!r}", expected="true or false"))
    errors += choice_error("resume_changes", cfg.get("resume_changes", "refuse"), ("refuse", "allow"))
    train = cfg.get("train") if isinstance(cfg.get("train"), Mapping) else {}
    errors += amp_level_errors(train.get("amp_level", "O0"))
    errors += metrics_errors(train)
    if not metrics_errors(train):
        errors += callback_metric_errors(cfg.get("callbacks"), train)
    debug = cfg.get("debug") if isinstance(cfg.get("debug"), Mapping) else {}
    errors += choice_error("debug.mode", debug.get("mode", "none"), DEBUG_MODES)
    export = cfg.get("export") if isinstance(cfg.get("export"), Mapping) else {}
    if export.get("file_name") is not None and (problem := name_problem(export["file_name"])):
        errors.append(ConfigError("export.file_name", problem, expected=NAME_RULE))
    if not isinstance(cfg.get("callbacks", []), (list, type(None))):
        errors.append(ConfigError("callbacks", "not a list", expected="a list of {type: NAME, ...}"))
    return errors


def with_defaults(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """``cfg`` with every fixed section's missing keys taken from conf/config.yaml (call after validate).

    A config Hydra composed has them all; a plain mapping given to the job API gets them here.
    """
    defaults = conf_defaults()
    out = dict(cfg)
    for name in SECTIONS:
        out[name] = {**defaults[name], **(cfg.get(name) or {})}
    return out


@functools.lru_cache(maxsize=1)
def conf_defaults() -> dict[str, Any]:
    """The fixed sections as conf/config.yaml writes them, resolved (the one place of their defaults)."""
    from omegaconf import OmegaConf
    from mm_train.core import resolvers  # noqa: F401  (registers ${mm_bundled:})
    from mm_train.core.locations import CONF_DIR
    conf = OmegaConf.load(CONF_DIR / "config.yaml")
    return {name: OmegaConf.to_container(conf[name], resolve=True) for name in SECTIONS}


# The component sections, each checked by its registry (the kind's check_func beside its part: data/validate.py,
# optim.py, lr_schedules.py); the network by mm_train.nn.validate
CHECKED_BY = {"dataset": DATASETS, "loss": LOSSES, "optimizer": OPTIMIZERS, "lr_schedule": LR_SCHEDULES}


def component_errors(cfg: Mapping[str, Any]) -> list[ConfigError]:
    """The component sections checked against the registries and the factories' signatures."""
    from mm_train.nn.validate import network_errors

    errors = []
    for key in ("dataset", "network", "loss", "optimizer", "lr_schedule"):
        if cfg.get(key) is not None:
            errors += network_errors(cfg[key]) if key == "network" else CHECKED_BY[key].check(cfg[key], key)
    for i, spec in enumerate(cfg.get("callbacks") or [] if isinstance(cfg.get("callbacks"), list) else []):
        errors += CALLBACKS.check(spec, f"callbacks[{i}]")
    device = cfg.get("device") if isinstance(cfg.get("device"), Mapping) else {}
    errors += loss_scale_errors(cfg.get("loss_scale") or {}, device.get("target", "CPU"))
    return errors


def validate(cfg: Mapping[str, Any], tasks: Registry | None = None) -> None:
    """Raise one ConfigError listing every problem in the resolved config ``cfg``; with ``tasks`` (the
    TASKS :mod:`mm_train.jobs` fills) also the task and what it needs.

    The component checks import the registries' members (MindSpore): set the environment first.
    """
    errors = structure_errors(cfg, tasks)
    errors += component_errors(with_defaults(cfg) if not errors else cfg)
    if errors:
        raise ConfigError.collect(errors)
