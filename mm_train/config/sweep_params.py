"""A recipe's sweep search space (``hydra.sweeper.params``): recipe keys and plain values, never overrides.

Hydra turns each entry into a per-job override ``KEY=VALUE``; in a recipe that would let a file
set ``hydra.*`` (loggers, output paths), add keys with ``+``/``++`` or pick config groups. So a
recipe's sweep parameters are checked as data::

    params_errors({"optimizer.lr": "choice(0.1, 0.05)", "train.epochs": "range(1, 4)"}, "r.yaml")   # []
    params_errors({"hydra.sweep.subdir": "/elsewhere"}, "r.yaml")   # [ConfigError naming the key]

A key is a dotted path of plain names (``optimizer.lr``, ``callbacks.0.prefix``) whose first name is
a section of the recipe; a value is a plain value, a list ``a,b``, or ``choice(...)``, ``range(...)``,
``interval(...)`` of plain values (numbers, strings, true/false, null) without interpolations.
Sweeping ``recipe`` takes recipe names. These checks are mm_train's own: they do not rely on
Hydra's instantiate blocklist.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Mapping

from mm_train.core.errors import ConfigError, closest

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$|^[0-9]+$")
GROUPS = ("device", "debug", "hparams_search")   # conf/ groups: chosen on the command line, never by a recipe
VALUE_RULE = "a plain value or choice(...), range(...), interval(...) of numbers, strings, true/false or null"


def _roots() -> tuple[str, ...]:
    from mm_train.config.schema import TOP_LEVEL
    return tuple(k for k in TOP_LEVEL if k not in GROUPS) + ("device", "debug", "recipe")


def key_problem(key: Any) -> tuple[str, str, list[str]] | None:
    """(problem, expected, suggestions) when ``key`` is not a recipe key a sweep may vary, else None."""
    text = str(key)
    expected = "a recipe key such as optimizer.lr or train.epochs (no hydra.*, no +/~ prefix, no config group)"
    if not isinstance(key, str) or not text:
        return f"got {key!r}", expected, []
    if text[0] in "+~":
        return f"'{text}' adds or deletes a key", expected, [text.lstrip("+~")] if text.lstrip("+~") else []
    parts = text.split(".")
    if not all(NAME.match(p) for p in parts):
        return f"'{text}' is not a plain key path", expected, []
    if parts[0] == "hydra":
        return "a recipe's sweep cannot set Hydra's settings", expected, []
    if text in GROUPS or parts[0] == "hparams_search":
        return f"'{text}' selects a config group", expected + "; choose it on the command line", []
    if parts[0] == "recipe" and len(parts) > 1:
        return f"'{text}' is not a recipe key", expected, []
    roots = _roots()
    if parts[0] not in roots:
        return f"'{parts[0]}' is not a section of the recipe", expected, closest(parts[0], roots)
    return None


def _plain(value: Any) -> bool:
    if isinstance(value, str):
        return "${" not in value
    return value is None or isinstance(value, (bool, int, float))


def value_problem(key: str, value: Any, check_name: Callable[[str, str], Any] | None = None) -> str | None:
    """What is wrong with the sweep value ``value`` of ``key``, or None (``check_name``: recipe names)."""
    if not isinstance(value, str):
        return None if _plain(value) else f"got {value!r}"
    if len(value) > 10_000:
        return f"a value of {len(value)} characters"
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, RangeSweep
    try:
        parsed = OverridesParser.create().parse_override(f"{key}={value}").value()
    except Exception as err:  # noqa: BLE001 - Hydra's grammar errors: the value is not a sweep
        return f"'{value}' does not parse: {str(err).splitlines()[0]}"
    if isinstance(parsed, ChoiceSweep):
        items = parsed.list
    elif isinstance(parsed, RangeSweep):
        items = [parsed.start, parsed.stop, parsed.step]
    elif isinstance(parsed, IntervalSweep):
        items = [parsed.start, parsed.end]
    elif _plain(parsed):
        items = [parsed]
    else:
        return f"got {value!r}"
    bad = [item for item in items if not _plain(item)]
    if bad:
        return f"got {bad[0]!r} in {value!r}"
    if getattr(parsed, "tags", None):
        return f"tags in {value!r}"
    if key == "recipe" and check_name is not None:
        for item in items:
            check_name(str(item), "hydra.sweeper.params.recipe")
    return None


def params_errors(params: Any, file: str, check_name: Callable[[str, str], Any] | None = None) -> list[ConfigError]:
    """Every problem of a recipe file's ``hydra.sweeper.params`` (``check_name`` checks swept recipe names)."""
    where = f"(in recipe file {file})"
    if params is None:
        return []
    if not isinstance(params, Mapping):
        return [ConfigError("hydra.sweeper.params", f"got {params!r} {where}",
                            expected="a mapping of recipe keys to sweep values")]
    errors = []
    for key, value in params.items():
        path = f"hydra.sweeper.params.{key}"
        found = key_problem(key)
        if found is not None:
            problem, expected, near = found
            errors.append(ConfigError(path, f"{problem} {where}", expected=expected, suggestions=near))
            continue
        try:
            problem = value_problem(key, value, check_name)
        except ConfigError as err:
            problem = err.problem
        if problem is not None:
            errors.append(ConfigError(path, f"{problem} {where}", expected=VALUE_RULE))
    return errors


def settings_errors(sweeper: Any, file: str, check_name: Callable[[str, str], Any] | None = None) -> list[ConfigError]:
    """``hydra.sweeper``: params (above), n_trials (a whole number), direction (minimize/maximize)."""
    if not isinstance(sweeper, Mapping):
        return [ConfigError("hydra.sweeper", f"got {sweeper!r} (in recipe file {file})",
                            expected="a mapping with params, n_trials, direction")]
    errors = params_errors(sweeper.get("params"), file, check_name)
    trials = sweeper.get("n_trials")
    if "n_trials" in sweeper and (not isinstance(trials, int) or isinstance(trials, bool)
                                  or not 1 <= trials <= 100_000):
        errors.append(ConfigError("hydra.sweeper.n_trials", f"got {trials!r} (in recipe file {file})",
                                  expected="a whole number from 1 to 100000"))
    direction = sweeper.get("direction")
    directions = direction if isinstance(direction, list) else [direction]
    if "direction" in sweeper and (not directions or any(d not in ("minimize", "maximize") for d in directions)):
        errors.append(ConfigError("hydra.sweeper.direction", f"got {direction!r} (in recipe file {file})",
                                  expected="minimize or maximize (or a list of them)"))
    return errors
