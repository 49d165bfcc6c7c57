"""Every job of a sweep checked before the first one starts: a bad value in job 3 is named before
jobs 1 and 2 train.

    python run.py -m +recipe=quickstart train.epochs=1,abc
    # error: sweep job 1 of 2 (train.epochs=abc): train.epochs: got 'abc' (expected ...); no job was started

Each job's config is composed and validated as the job would (:func:`mm_train.jobs.prepare`): no
network, no data, no graph. Only for Hydra's basic sweeper, whose jobs are known up front (an Optuna
sweep chooses its values as it goes; its search space is checked by mm_train.config.sweep_params).
"""
from __future__ import annotations

import contextlib
import io
from typing import Optional

from omegaconf import DictConfig

from mm_train.core.errors import ConfigError


def job_overrides(config: DictConfig) -> Optional[list[list[str]]]:
    """The overrides of each job the basic sweeper will launch, in its order; None for another sweeper."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    if not str(config.hydra.sweeper.get("_target_", "")).endswith("BasicSweeper"):
        return None
    params = [f"{k}={v}" for k, v in (config.hydra.sweeper.get("params") or {}).items()]
    parsed = OverridesParser.create().parse_overrides(params + [str(o) for o in config.hydra.overrides.task])
    return [job for batch in BasicSweeper.split_arguments(parsed, None) for job in batch]


def check_jobs(config: DictConfig) -> None:
    """ConfigError naming the first job whose config is refused, its swept values and the problem."""
    from mm_train.config.composition import compose_recipe
    from mm_train.jobs import prepare

    jobs = job_overrides(config)
    if not jobs or len(jobs) < 2:
        return
    swept = {o.split("=", 1)[0] for o in jobs[0]} - {o.split("=", 1)[0] for o in jobs[0] if all(o in j for j in jobs)}
    for index, overrides in enumerate(jobs):
        recipe = next((o.split("=", 1)[1] for o in overrides if o.split("=", 1)[0].lstrip("+") == "recipe"), None)
        if recipe is None:
            return   # every job says "no recipe chosen" itself
        rest = [o for o in overrides if o.split("=", 1)[0].lstrip("+") != "recipe"]
        try:
            with contextlib.redirect_stdout(io.StringIO()):   # its notes are the job's to print, once
                prepare(compose_recipe(recipe, rest))
        except ConfigError as err:
            values = " ".join(o for o in overrides if o.split("=", 1)[0] in swept)
            raise ConfigError("", f"sweep job {index} of {len(jobs)} ({values}): {err}; no job was started") from None
