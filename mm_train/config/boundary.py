"""The recipe boundary: what a recipe FILE may ask of Hydra, checked when the file is loaded.

A recipe is data shared between teams: it must not run code, write files or pick paths.
Hydra applies ``hydra.callbacks`` and ``hydra.job_logging`` before the task runs, so the
checks run in :meth:`mm_train.config.recipes.RecipeConfigSource.load_config`, before Hydra
instantiates anything (``run.py``, every ``mm-train`` command, ``mm-train launch``)::

    check_name("team_a/resnet50_tuned", "+recipe")     # fine
    check_name("../outside/x", "+recipe")              # ConfigError: leaves the recipe folders
    check_recipe(config, header, "/r/evil.yaml", "evil", includes)   # hydra.callbacks -> ConfigError

A recipe may set only these ``hydra.*`` keys (a sweep's search space, never a path,
a logger or a callable): :data:`HYDRA_ALLOWED`. Its defaults list may not select Hydra's
own config groups (``override /hydra/...``) nor place a config into ``hydra``. The
user's command-line overrides (``hydra.run.dir=DIR``) are not a recipe and stay Hydra's.
"""
from __future__ import annotations

import posixpath
import re
from typing import Any, Callable, Iterable, Mapping, Optional

from mm_train.core.errors import ConfigError

# hydra.* keys a recipe file may set: the search space of a sweep and how many trials
HYDRA_ALLOWED = ("sweeper.params", "sweeper.n_trials", "sweeper.direction")
GROUP = "recipe"
MAX_PART, MAX_NAME = 200, 1000   # bytes of one file name (the file system allows 255 with .yaml), characters of a name
NAME_RULE = "a recipe name inside the recipe folders: no '..', no absolute path, no '//'"


def check_name(name: str, where: str) -> str:
    """``name`` ("team_a/x") if it stays inside the recipe folders, else a ConfigError naming ``where``."""
    text = str(name)
    parts = text.split("/")
    if (not text or text.startswith(("/", "~")) or "\\" in text or ":" in text or "//" in text
            or any(p in ("..", ".") for p in parts)):
        raise ConfigError(where, f"'{text}' leaves the recipe folders", expected=NAME_RULE)
    if len(text) > MAX_NAME or any(len(p.encode("utf-8", "surrogatepass")) > MAX_PART for p in parts):
        raise ConfigError(where, f"a recipe name of {len(text)} characters is longer than a file system allows",
                          expected=f"at most {MAX_PART} bytes per folder or file name, {MAX_NAME} characters in all")
    return text


def _leaves(node: Any, path: str) -> Iterable[tuple[str, Any]]:
    if isinstance(node, Mapping) and node:
        for key, value in node.items():
            yield from _leaves(value, f"{path}.{key}")
    else:
        yield path, node


def hydra_errors(hydra: Any, file: str) -> list[ConfigError]:
    """Every ``hydra.*`` key of a recipe file outside :data:`HYDRA_ALLOWED`, and every sweep parameter that is
    not a recipe key with plain values (:mod:`mm_train.config.sweep_params`)."""
    from mm_train.config.sweep_params import settings_errors
    errors = []
    if isinstance(hydra, Mapping) and "sweeper" in hydra:
        errors += settings_errors(hydra["sweeper"], file, check_name)
    for path, value in _leaves(hydra, "hydra"):
        rel = path[len("hydra."):] if path != "hydra" else ""
        allowed = any(rel == a or rel.startswith(a + ".") for a in HYDRA_ALLOWED)
        if allowed:
            continue   # the sweep settings: checked by settings_errors
        top = ".".join(path.split(".")[:3])
        errors.append(ConfigError(top, f"a recipe cannot set Hydra's settings (in recipe file {file})",
                                  expected="only " + ", ".join(f"hydra.{a}" for a in HYDRA_ALLOWED)
                                  + " in a recipe; set other hydra.* keys on the command line"))
    unique = {}
    for err in errors:
        unique.setdefault(str(err), err)
    return list(unique.values())


ENV_RESOLVER = re.compile(r"\$\{\s*(oc\s*\.\s*env|env)\s*:")   # ${oc.env:NAME}: reads the environment


def _strings(node: Any, path: str) -> Iterable[tuple[str, str]]:
    """(key path, text) of every key and string value in nested mappings and lists."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            here = f"{path}.{key}" if path else str(key)
            yield here, str(key)
            yield from _strings(value, here)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _strings(value, f"{path}[{i}]")
    elif isinstance(node, str):
        yield path, node


def environment_errors(config: Any, file: str) -> list[ConfigError]:
    """``${oc.env:NAME}`` anywhere in a recipe file: a recipe cannot read the environment (secrets would be
    resolved into the run directory's config.yaml). ``paths.data`` (conf/) reads MM_TRAIN_DATA for it."""
    return [ConfigError(path, f"'{text}' reads an environment variable (in recipe file {file})",
                        expected="a value or ${key.path} interpolation; a recipe cannot read the environment "
                        "(use ${paths.data}, which reads MM_TRAIN_DATA, or pass the value on the command line)")
            for path, text in _strings(config, "") if ENV_RESOLVER.search(text)]


def _entry(item: Any) -> list[tuple[str, Optional[str]]]:
    """``[(group or config path, option or None)]`` of one defaults-list entry, keywords stripped."""
    if isinstance(item, str):
        return [(item, None)]
    if isinstance(item, Mapping):
        out = []
        for key, value in item.items():
            options = value if isinstance(value, list) else [value]
            out += [(str(key), None if o is None else str(o)) for o in options]
        return out
    return [(repr(item), None)]


def _split(text: str) -> tuple[str, str]:
    """``("/recipe/x", "pkg")`` from ``"override /recipe/x@pkg"``."""
    for word in ("override ", "optional "):
        text = text.strip()
        if text.startswith(word):
            text = text[len(word):]
    path, _, package = text.strip().partition("@")
    return path.strip(), package.strip()


def _recipe_name(path: str, here: str) -> Optional[str]:
    """The recipe a defaults path names from the recipe ``here``, or None when it is another group."""
    if path.startswith("/"):
        return path[len("/" + GROUP + "/"):] if path.startswith("/" + GROUP + "/") else None
    return posixpath.join(posixpath.dirname(here), path)


def defaults_errors(defaults: Any, file: str, here: str) -> tuple[list[ConfigError], list[str]]:
    """(problems, included recipe names) of a recipe file's defaults list."""
    if defaults is None:
        return [], []
    where = f"defaults (in recipe file {file})"
    if not isinstance(defaults, list):
        return [ConfigError(where, f"got {defaults!r}", expected="a list of recipe names and _self_")], []
    errors, included = [], []
    for item in defaults:
        for key, option in _entry(item):
            path, package = _split(key)
            if path == "_self_" and option is None:
                continue
            if path.strip("/").split("/")[0] == "hydra" or "hydra" in package.split(".")[:2]:
                errors.append(ConfigError(where, f"'{key}' selects or fills Hydra's own configs",
                                          expected="recipes and _self_: a recipe cannot change Hydra's "
                                          "callbacks, logging, launcher or sweeper"))
                continue
            target = path if option is None else f"{path}/{option}"
            try:
                check_name(target[1:] if target.startswith("/") and not target.startswith("//") else target, where)
            except ConfigError as err:
                errors.append(err)
                continue
            name = _recipe_name(target, here)
            if name is not None:
                included.append(name)
    return errors, included


def check_package(header: Mapping[str, Any], file: str) -> list[ConfigError]:
    package = str((header or {}).get("package") or "")
    if "hydra" in package.split("."):
        return [ConfigError(f"# @package {package} (in recipe file {file})", "a recipe cannot place itself in Hydra's settings",
                            expected="# @package _global_")]
    return []


def find_cycle(start: str, includes: Callable[[str], list[str]]) -> Optional[list[str]]:
    """The first chain ``[a, b, a]`` of recipes that include each other, from ``start``, or None."""
    stack: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> Optional[list[str]]:
        if name in stack:
            return stack[stack.index(name):] + [name]
        if name in done:
            return None
        stack.append(name)
        for nxt in includes(name):
            if (cycle := visit(nxt)) is not None:
                return cycle
        stack.pop()
        done.add(name)
        return None

    return visit(start)


def check_recipe(config: Mapping[str, Any], header: Mapping[str, Any], file: str, name: str,
                 includes: Callable[[str], list[str]]) -> None:
    """Raise one ConfigError for everything the recipe file ``file`` (recipe ``name``) may not do.

    ``includes(name)`` gives the recipes a recipe's defaults list names (to find cycles).
    """
    errors = check_package(header, file) + environment_errors(config, file)
    if isinstance(config, Mapping) and "hydra" in config:
        errors += hydra_errors(config["hydra"], file)
    problems, _ = defaults_errors(config.get("defaults") if isinstance(config, Mapping) else None, file, name)
    errors += problems
    if not errors:
        cycle = find_cycle(name, includes)
        if cycle:
            errors.append(ConfigError(f"defaults (in recipe file {file})",
                                      "recipes include each other: " + " -> ".join(cycle),
                                      expected="a defaults list without a cycle"))
    if errors:
        raise ConfigError.collect(errors)
