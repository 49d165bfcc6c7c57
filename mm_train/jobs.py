"""Open a job: a composed config made ready to build, the one way for run.py and every ``mm-train`` command.

    job = open_job("quickstart", ["train.epochs=3"])   # compose, resolve, validate, debug mode, device
    job.config["train"]["epochs"], job.rank.is_main      # 3, True
    job = start(cfg)                                     # the same for a config Hydra composed (run.py)

Order matters: the device's environment variables are set before MindSpore is
imported (by the registries), and every problem of the config is reported at once.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import GrammarParseError, OmegaConfBaseException

from mm_train import device, distributed, interpolation_bounds, registry
from mm_train.composition import compose_recipe, interpolation_error
from mm_train.config import validate, with_defaults
from mm_train.debug import apply_debug
from mm_train.errors import ConfigError
from mm_train.ranks import Rank


@dataclass
class Job:
    config: dict[str, Any]   # resolved, validated, schema defaults and debug mode applied
    rank: Rank


def resolve(cfg: DictConfig) -> dict[str, Any]:
    """The config as plain containers, interpolations resolved; problems as ConfigError."""
    interpolation_bounds.check(OmegaConf.to_container(cfg, resolve=False))   # no bombs: sizes before resolving
    try:
        return OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
    except OmegaConfBaseException as err:
        key = getattr(err, "full_key", None) or "config"
        if isinstance(err, GrammarParseError):
            raise interpolation_error(key, err) from None
        raise ConfigError(key, str(err).splitlines()[0]) from None


def prepare(cfg: DictConfig | Mapping[str, Any]) -> dict[str, Any]:
    """Resolve and validate ``cfg`` and apply its debug mode; every problem in one ConfigError.

    Loads MindSpore (the device's environment variables are set first).
    """
    nested = cfg.get("recipe")
    if isinstance(nested, (Mapping, DictConfig)):   # a recipe file without its header: keys under recipe:
        raise ConfigError("recipe", "the recipe's keys ended up under 'recipe:' because its file does not start "
                          "with '# @package _global_'",
                          expected="'# @package _global_' as the first line of the recipe file (also when a run "
                          "directory's config.yaml is copied as a recipe)")
    config = resolve(cfg) if isinstance(cfg, DictConfig) else dict(cfg)
    if isinstance(config.get("device"), Mapping):
        device.set_environment(config["device"])
    registry.load_all()
    validate(config)
    return apply_debug(with_defaults(config))


def start(cfg: DictConfig | Mapping[str, Any]) -> Job:
    """:func:`prepare`, then the device (under msrun / mpirun also ``init()`` and data parallel)."""
    config = prepare(cfg)
    return Job(config, distributed.configure(config))


def open_job(recipe: str, overrides: list[str] = ()) -> Job:
    """:func:`start` on the recipe composed as ``python run.py +recipe=RECIPE OVERRIDES`` would."""
    return start(compose_recipe(recipe, list(overrides)))
