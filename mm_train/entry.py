"""What ``run.py`` calls: the Hydra task function and the reporting of user errors.

User errors (ConfigError, and Hydra's own composition errors: an unknown recipe,
group option or key) are printed as one message, with "did you mean", and the
process exits with code 2; training verdicts (:class:`mm_train.errors.TrainingVerdict`:
diverged, cannot learn, check failed) likewise with code 1. Anything else is a bug
and keeps its traceback.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys

from omegaconf import DictConfig

from mm_train import resolvers  # noqa: F401  (registers ${mm_bundled:})
from mm_train.composition import hydra_message
from mm_train.errors import ConfigError, TrainingVerdict

log = logging.getLogger(__name__)


def no_recipe_message() -> str:
    from mm_train.recipes import all_recipes
    recipes, _ = all_recipes()
    width = max((len(n) for n in recipes), default=0)
    lines = [f"  {name:<{width}}  {r.description}" for name, r in sorted(recipes.items())]
    return ("no recipe chosen: pick one with +recipe=NAME, for example\n"
            "  python run.py +recipe=quickstart\n\navailable recipes:\n" + "\n".join(lines))


def recipe_line(name: str) -> str:
    """"recipe NAME: FILE" and the files it shadows (the first line of a run and of recipes show)."""
    from mm_train.recipes import find, shadowed_by
    found = find(name)
    line = f"recipe {name}: {found.path if found else '?'}"
    return line + "".join(f" (shadows {hidden.path})" for _, hidden in shadowed_by(name))


def task(cfg: DictConfig):
    """The Hydra task function: run the chosen recipe in Hydra's output directory."""
    from hydra.core.hydra_config import HydraConfig

    from mm_train.runner import execute

    hydra_cfg = HydraConfig.get()
    recipe = hydra_cfg.runtime.choices.get("recipe")
    try:
        if recipe is None:
            raise ConfigError("", no_recipe_message())
        log.info(recipe_line(recipe))
        from mm_train.inheritance import replace_retyped
        replace_retyped(cfg, recipe, list(hydra_cfg.overrides.task))
        return execute(cfg, hydra_cfg.runtime.output_dir, recipe, list(hydra_cfg.overrides.task))
    except ConfigError as err:   # exit here: Hydra would add its own "Error executing job" lines
        print(f"error: {err}", file=sys.stderr)
        sys.exit(ConfigError.exit_code)
    except TrainingVerdict as verdict:   # diverged, cannot learn, check failed: exit 1, no traceback
        print(f"error: {verdict}", file=sys.stderr)
        sys.exit(verdict.exit_code)


@contextlib.contextmanager
def quiet_broken_pipe():
    """A reader that stops early (``mm-train blocks ls | head -1``) ends the command quietly, exit 0."""
    try:
        yield
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)   # Python flushes stdout at exit: point it somewhere open
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)


@contextlib.contextmanager
def reported_errors():
    """Turn user errors into one message on stderr and exit code 2."""
    os.environ.setdefault("HYDRA_FULL_ERROR", "1")   # Hydra re-raises; we report
    try:
        yield
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(ConfigError.exit_code)
    except Exception as err:  # noqa: BLE001 - only Hydra's composition errors are handled here
        message = hydra_message(err)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        sys.exit(ConfigError.exit_code)
