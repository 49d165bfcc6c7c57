"""What ``run.py`` calls: the Hydra task function and the reporting of user errors.

User errors (ConfigError, and Hydra's own composition errors: an unknown recipe,
group option or key) are printed as one message, with "did you mean", and the
process exits with code 2. Anything else is a bug and keeps its traceback.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys

from omegaconf import DictConfig

from mm_train import resolvers  # noqa: F401  (registers ${mm_bundled:})
from mm_train.errors import ConfigError, closest

log = logging.getLogger(__name__)


def no_recipe_message() -> str:
    from mm_train.recipes import all_recipes
    recipes, _ = all_recipes()
    width = max((len(n) for n in recipes), default=0)
    lines = [f"  {name:<{width}}  {r.description}" for name, r in sorted(recipes.items())]
    return ("no recipe chosen: pick one with +recipe=NAME, for example\n"
            "  python run.py +recipe=quickstart\n\navailable recipes:\n" + "\n".join(lines))


def task(cfg: DictConfig):
    """The Hydra task function: run the chosen recipe in Hydra's output directory."""
    from hydra.core.hydra_config import HydraConfig

    from mm_train.recipes import shadowed_by
    from mm_train.runner import NetworkCannotLearn, TrainingDiverged, execute

    hydra_cfg = HydraConfig.get()
    recipe = hydra_cfg.runtime.choices.get("recipe")
    try:
        if recipe is None:
            raise ConfigError("", no_recipe_message())
        for used, hidden in shadowed_by(recipe):
            log.warning("recipe '%s' from %s shadows %s", recipe, used.path, hidden.path)
        return execute(cfg, hydra_cfg.runtime.output_dir, recipe, list(hydra_cfg.overrides.task))
    except ConfigError as err:   # exit here: Hydra would add its own "Error executing job" lines
        print(f"error: {err}", file=sys.stderr)
        sys.exit(ConfigError.exit_code)
    except (NetworkCannotLearn, TrainingDiverged) as verdict:   # training verdicts: exit 1, no traceback
        print(f"error: {verdict}", file=sys.stderr)
        sys.exit(1)


def _hydra_message(err: Exception) -> str | None:
    """A one-message explanation of a Hydra composition error, or None if it is not one."""
    from hydra.errors import ConfigCompositionException, MissingConfigException, OverrideParseException

    if isinstance(err, MissingConfigException):
        missing = (err.missing_cfg_file or "").strip("/")
        group, _, name = missing.rpartition("/")
        options = err.options or []
        text = str(ConfigError(f"+{group}={name}" if group == "recipe" else f"{group}={name}" if group else missing,
                               f"no {group or 'config'} named '{name}'",
                               expected=f"one of {options}" if options else None,
                               suggestions=closest(name, options)))
        return text
    if isinstance(err, ConfigCompositionException):
        cause = err.__cause__
        key = getattr(cause, "full_key", None)
        parent = getattr(cause, "parent_node", None)
        if key and parent is not None and hasattr(parent, "keys"):
            leaf = key.rsplit(".", 1)[-1]
            return str(ConfigError(key, "unknown key", expected=f"one of {sorted(map(str, parent.keys()))}",
                                   suggestions=closest(leaf, [str(k) for k in parent.keys()])))
        return str(err).strip() + (f"\n{cause}" if cause else "")
    if isinstance(err, OverrideParseException):
        return str(err).strip()
    if isinstance(err, (ValueError, TypeError)) and _raised_by_hydra(err):
        return f"{err} (check the command-line overrides: config groups take a name, e.g. device=cpu)"
    return None


def _raised_by_hydra(err: Exception) -> bool:
    """Whether the innermost frame of ``err`` is Hydra's own code (a plain ValueError about overrides)."""
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and f"{os.sep}hydra{os.sep}" in tb.tb_frame.f_code.co_filename


CONF_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "conf")


def compose_recipe(name: str, overrides: list[str] = ()) -> DictConfig:
    """The config ``python run.py +recipe=NAME OVERRIDES`` would run (without the hydra node)."""
    from hydra import compose, initialize_config_dir

    try:
        with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3", job_name="mm_train"):
            return compose("config", overrides=[f"+recipe={name}", *overrides])
    except ConfigError:
        raise
    except Exception as err:  # noqa: BLE001 - Hydra's composition errors become ConfigErrors
        message = _hydra_message(err)
        if message is None:
            raise
        raise ConfigError("", message) from None


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
        message = _hydra_message(err)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        sys.exit(ConfigError.exit_code)
