"""Compose a recipe as ``python run.py +recipe=NAME OVERRIDES`` would, and Hydra's errors as one message.

    config = compose_recipe("quickstart", ["train.epochs=3"])   # a DictConfig, without the hydra node
    hydra_message(err)   # "no recipe named 'quickstrat' ... Did you mean 'quickstart'?" or None

Used by every command that runs a recipe outside ``run.py`` (:func:`mm_train.jobs.open_job`).
"""
from __future__ import annotations

import os
import re
import shlex

from omegaconf import DictConfig
from omegaconf.errors import GrammarParseError

from mm_train.core import resolvers  # noqa: F401  (registers ${mm_bundled:})
from mm_train.core.errors import ConfigError, closest
from mm_train.core.locations import CONF_DIR   # conf/ of the source tree or the wheel


def hydra_message(err: Exception) -> str | None:
    """A one-message explanation of a Hydra composition error, or None if it is not one."""
    from hydra.errors import ConfigCompositionException, MissingConfigException, OverrideParseException

    if isinstance(err, MissingConfigException):
        missing = (err.missing_cfg_file or "").strip("/")
        group, _, name = missing.rpartition("/")
        options = err.options or []
        text = str(ConfigError(f"+{group}={name}" if group == "recipe" else f"{group}={name}" if group else missing,
                               f"no {group or 'config'} named '{name}'",
                               expected=f"one of {options}" if options else None,
                               suggestions=[ALIASES[name.lower()]] if ALIASES.get(name.lower()) in options
                               else closest(name, options)))
        return text
    if isinstance(err, ConfigCompositionException):
        cause = err.__cause__
        key = getattr(cause, "full_key", None)
        if key and isinstance(cause, GrammarParseError):   # "${a.b" without its "}", "${a b}"
            return str(interpolation_error(key, cause))
        parent = getattr(cause, "parent_node", None)
        if key and parent is not None and hasattr(parent, "keys"):
            # a key the recipe lacks needs Hydra's +KEY=VALUE: say so
            leaf = key.rsplit(".", 1)[-1]
            keys = [str(k) for k in parent.keys()]
            near = closest(leaf, keys)
            found = re.search(r"To append to your config use (\+.+?)\s*$", str(err), re.MULTILINE)
            added = found.group(1) if found else None   # the whole override
            section = _section_of(leaf) if "." not in key else None
            if section and added:
                return str(ConfigError(key, "unknown top-level key", expected=f"a key of {section}",
                                       suggestions=[added[1:].replace(key, f"{section}.{key}", 1)]))
            if added and not near and "." in key:
                unknown = _unknown_component_argument(key, parent, added)
                if unknown is not None:
                    return unknown
                return f"{key}: not in this recipe; add it with {shlex.quote(added)}"
            return str(ConfigError(key, "unknown key", expected=f"one of {sorted(keys)}", suggestions=near))
        return str(err).strip() + (f"\n{cause}" if cause else "")
    if isinstance(err, OverrideParseException):
        return str(err).strip()
    if isinstance(err, (ValueError, TypeError)) and _raised_by_hydra(err):
        return f"{err} (check the command-line overrides: config groups take a name, e.g. device=cpu)"
    return None


ALIASES = {"cuda": "gpu", "nvidia": "gpu", "npu": "ascend"}   # other tools' device names

COMPONENT_REGISTRIES = {"loss": "LOSSES", "optimizer": "OPTIMIZERS", "lr_schedule": "LR_SCHEDULES",
                        "dataset": "DATASETS"}


def _unknown_component_argument(key: str, parent, added: str) -> str | None:
    """``optimizer.nesterove=true``: not an argument of the recipe's optimizer at all. The message names the
    nearest argument as a whole override (``+optimizer.nesterov=true``); None when ``key`` is an argument."""
    section, _, leaf = key.partition(".")
    kind = COMPONENT_REGISTRIES.get(section)
    if kind is None or "." in leaf or not isinstance(parent.get("type") if hasattr(parent, "get") else None, str):
        return None
    from mm_train import registry
    from mm_train.core import device
    device.set_environment()
    table = getattr(registry, kind)
    if parent["type"] not in table:
        return None
    names = sorted({p.name for p in table.parameters(table.get(parent["type"], f"{section}.type"))}
                   | set(table.reserved))
    if leaf in names:
        return None
    value = added.split("=", 1)[1] if "=" in added else ""
    err = registry.unknown_argument(section, leaf, names)
    if err.suggestions:
        err = ConfigError(err.where, f"not an argument of {parent['type']}", expected=err.expected,
                          suggestions=[shlex.quote(f"+{section}.{s}={value}") for s in err.suggestions])
    return str(err)


def interpolation_error(key: str, err: Exception) -> ConfigError:
    """An interpolation that does not parse (an unterminated ``${...``), named by its key."""
    text = str(err).splitlines()[0]
    unterminated = "${" in text and "}" not in text.split("${", 1)[1]
    return ConfigError(key, "unterminated interpolation (a '${' without its '}')" if unterminated
                       else f"the interpolation does not parse: {text}",
                       expected="${key.path} with a closing '}', quoted inside {...} flow mappings")


def _section_of(key: str) -> str | None:
    """The fixed section (train, device, ...) that has ``key``: ``epochs`` -> ``train``."""
    from dataclasses import fields

    from mm_train.config.schema import SECTIONS
    return next((name for name, schema in SECTIONS.items() if key in {f.name for f in fields(schema)}), None)


def _raised_by_hydra(err: Exception) -> bool:
    """Whether the innermost frame of ``err`` is Hydra's own code (a plain ValueError about overrides)."""
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and f"{os.sep}hydra{os.sep}" in tb.tb_frame.f_code.co_filename



def compose_recipe(name: str, overrides: list[str] = ()) -> DictConfig:
    """The config ``python run.py +recipe=NAME OVERRIDES`` would run (without the hydra node)."""
    from hydra import compose, initialize_config_dir

    from mm_train.config.inheritance import replace_retyped, swap_overrides   # a re-typed component replaces the parent's
    overrides = swap_overrides(overrides)
    from hydra.core.global_hydra import GlobalHydra
    try:
        if GlobalHydra.instance().is_initialized():   # inside run.py (a sweep's up-front check): its conf/
            cfg = compose("config", overrides=[f"+recipe={name}", *overrides])
        else:
            with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3", job_name="mm_train"):
                cfg = compose("config", overrides=[f"+recipe={name}", *overrides])
        replace_retyped(cfg, name, overrides)
        return cfg
    except ConfigError:
        raise
    except Exception as err:  # noqa: BLE001 - Hydra's composition errors become ConfigErrors
        message = hydra_message(err)
        if message is None:
            raise
        raise ConfigError("", message) from None
