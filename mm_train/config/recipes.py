"""Where recipes come from, and the Hydra plugins that make ``+recipe=NAME`` work.

A recipe is ``NAME.yaml`` in one of the recipe folders, searched in order:

1. each folder in ``MM_TRAIN_RECIPE_PATH`` (``os.pathsep``-separated), so a copied recipe
   is used instead of the built-in one, as ``PATH`` works;
2. the project's own ``recipes/`` folder (the built-in recipes);
3. folders declared by installed packages in the entry-point group
   ``mm_train.config.recipes``: ``team_a = team_a_recipes`` (a package whose folder
   holds the YAML files) serves ``+recipe=team_a/NAME``.

Sub-folders give namespaced names: ``DIR/team_a/resnet50_tuned.yaml`` is
``+recipe=team_a/resnet50_tuned``. When two folders define the same name the
first wins and the other is reported as shadowed. Hydra sees all folders as one config group
``recipe`` through :class:`RecipeConfigSource` (scheme ``mmrecipe://``), which
:class:`RecipeSearchPath` adds to every search path of the app.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

from hydra.core.object_type import ObjectType
from hydra.plugins.config_source import ConfigLoadError, ConfigResult, ConfigSource
from hydra.plugins.search_path_plugin import SearchPathPlugin
import yaml
from omegaconf import OmegaConf

from mm_train.config import boundary
from mm_train.config import recipe_files
from mm_train.core.errors import ConfigError
from mm_train.core.locations import RECIPES_DIR as BUILTIN_DIR  # recipes/ of the source tree or the wheel

GROUP = boundary.GROUP   # the Hydra config group of the recipes: +recipe=NAME
_composed: dict[str, dict] = {}   # recipe name -> its own keys, as the last composition loaded its file


def own_keys(name: str) -> Optional[dict]:
    """Recipe ``name``'s own keys (its file's YAML, before Hydra merged its parents) as the last composition
    read them (:meth:`RecipeConfigSource.load_config`); None when no composition loaded it."""
    return _composed.get(name)


ENV_PATH = "MM_TRAIN_RECIPE_PATH"


@dataclass(frozen=True)
class Recipe:
    name: str          # e.g. "quickstart" or "team_a/resnet50_tuned"
    path: Path
    source: str        # "builtin" or the folder it came from

    def text(self) -> str:
        """The file's text, read within bounds (:func:`mm_train.config.recipe_files.read_recipe`)."""
        return read(self.path)

    @property
    def problem(self) -> Optional[str]:
        """Why the file cannot be read (a link outside the recipe folders, a FIFO, not UTF-8...), or None."""
        try:
            self.text()
        except ConfigError as err:
            return err.problem
        return None

    @property
    def description(self) -> str:
        """The first comment line of the file that is not a ``# @`` header ("" if it cannot be read)."""
        try:
            text = self.text()
        except ConfigError:
            return ""
        for line in text.splitlines():
            text = line.strip()
            if text.startswith("#") and not text.startswith("# @"):
                return text.lstrip("# ").strip()
            if text and not text.startswith("#"):
                break
        return ""


ENTRY_POINT_GROUP = "mm_train.config.recipes"


@dataclass(frozen=True)
class RecipeDir:
    source: str        # "builtin", the MM_TRAIN_RECIPE_PATH entry, or "package:NAME"
    folder: Path
    prefix: str = ""   # namespace of an installed package's recipes ("team_a/")

    def file(self, rel: str) -> Optional[Path]:
        """The file for ``rel`` ("team_a/x.yaml") in this folder, or None."""
        if self.prefix:
            if not rel.startswith(self.prefix):
                return None
            rel = rel[len(self.prefix):]
        path = self.folder / rel
        return path if os.path.lexists(path) and not path.is_dir() else None   # a FIFO too: read() names it

    def group(self, rel: str) -> bool:
        """Whether ``rel`` ("", "team_a", "team_a/sub") is a folder of recipes here."""
        if not self.prefix:
            return (self.folder / rel).is_dir()
        if rel == "" or rel + "/" == self.prefix:
            return True
        return rel.startswith(self.prefix) and (self.folder / rel[len(self.prefix):]).is_dir()


@functools.lru_cache(maxsize=None)
def _package_dirs() -> tuple[RecipeDir, ...]:
    """Recipe folders of installed packages (read once per process: Hydra asks many times)."""
    from importlib.metadata import entry_points
    dirs = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        target = ep.load()
        folder = Path(target.__file__).parent if hasattr(target, "__file__") else Path(str(target))
        dirs.append(RecipeDir(f"package:{ep.value}", folder.resolve(), f"{ep.name}/"))
    return tuple(dirs)


def recipe_dirs() -> list[RecipeDir]:
    """The recipe folders in search order."""
    dirs = [RecipeDir(entry, Path(entry).expanduser().resolve())   # user folders first, as PATH
            for entry in os.environ.get(ENV_PATH, "").split(os.pathsep) if entry.strip()]
    return dirs + [RecipeDir("builtin", BUILTIN_DIR)] + list(_package_dirs())


def all_recipes() -> tuple[dict[str, Recipe], list[tuple[Recipe, Recipe]]]:
    """Every recipe by name (first folder wins) and the (winner, shadowed) pairs."""
    found: dict[str, Recipe] = {}
    shadowed: list[tuple[Recipe, Recipe]] = []
    for where in recipe_dirs():
        if not where.folder.is_dir():
            continue
        for path in sorted(where.folder.rglob("*.yaml")):
            name = where.prefix + path.relative_to(where.folder).with_suffix("").as_posix()
            recipe = Recipe(name, path, where.source)
            if name in found:
                shadowed.append((found[name], recipe))
            else:
                found[name] = recipe
    return found, shadowed


def read(path: Path) -> str:
    """The text of a recipe file: a regular file inside a recipe folder, bounded (a ConfigError otherwise)."""
    return recipe_files.read_recipe(path, [where.folder for where in recipe_dirs()])


def find(name: str) -> Optional[Recipe]:
    return all_recipes()[0].get(name)


def shadowed_by(name: str) -> list[tuple[Recipe, Recipe]]:
    """The (used, shadowed) pairs for the recipe ``name``."""
    return [pair for pair in all_recipes()[1] if pair[0].name == name]


class RecipeConfigSource(ConfigSource):
    """Serves the config group ``recipe`` from all recipe folders."""

    @staticmethod
    def scheme() -> str:
        return "mmrecipe"

    @staticmethod
    def _inside(config_path: str) -> Optional[str]:
        """The path below the ``recipe`` group, or None for paths outside it."""
        config_path = config_path.strip("/")
        if config_path == GROUP:
            return ""
        if config_path.startswith(GROUP + "/"):
            return config_path[len(GROUP) + 1:]
        return None

    def _file(self, config_path: str) -> Optional[Path]:
        rel = self._inside(config_path)
        if not rel:
            return None
        boundary.check_name(rel.removesuffix(".yaml"), f"+recipe={rel.removesuffix('.yaml')}")   # no .., no absolute path
        rel = self._normalize_file_name(rel)
        for where in recipe_dirs():
            candidate = where.file(rel)
            if candidate is not None:
                return candidate
        return None

    def load_config(self, config_path: str) -> ConfigResult:
        path = self._file(config_path)
        if path is None:
            raise ConfigLoadError(f"Recipe not found: {config_path}")
        text = read(path)
        recipe_files.check_yaml(text, path)   # depth and alias expansion, before OmegaConf copies anything
        try:
            config = OmegaConf.create(text) if text.strip() else OmegaConf.create({})
        except yaml.YAMLError as err:
            hint = " (quote values that start with ${ inside {...})" if "${" in text else ""
            raise ConfigError(str(path), "not valid YAML: " + " ".join(str(err).split()),
                              expected="a YAML mapping" + hint) from None
        header = ConfigSource._get_header_dict(text[:512])
        name = (self._inside(config_path) or "").removesuffix(".yaml")   # the recipe boundary
        own = OmegaConf.to_container(config, resolve=False)
        boundary.check_recipe(own, header, str(path), name, self._included)
        _composed[name] = own   # what a re-typed component replaces is read from here (mm_train.config.inheritance)
        return ConfigResult(config=config,
                            path=f"{self.scheme()}://{path.parent}", provider=self.provider,
                            header=header)

    def _included(self, name: str) -> list[str]:
        """The recipes the defaults list of recipe ``name`` names (for finding cycles)."""
        path = self._file(f"{GROUP}/{name}")
        try:
            text = read(path) if path is not None else ""
            recipe_files.check_yaml(text, path)
            data = yaml.safe_load(text)
        except (yaml.YAMLError, ConfigError):
            return []
        defaults = data.get("defaults") if isinstance(data, dict) else None
        return boundary.defaults_errors(defaults, str(path), name)[1]

    def available(self) -> bool:
        return True

    def is_group(self, config_path: str) -> bool:
        if config_path.strip("/") == "":
            return True
        rel = self._inside(config_path)
        if rel is None:
            return False
        return any(where.group(rel) for where in recipe_dirs())

    def is_config(self, config_path: str) -> bool:
        return self._file(config_path) is not None

    def list(self, config_path: str, results_filter: Optional[ObjectType]) -> List[str]:
        if config_path.strip("/") == "":
            return [GROUP] if results_filter in (None, ObjectType.GROUP) else []
        rel = self._inside(config_path)
        if rel is None:
            return []
        files: List[str] = []
        for where in recipe_dirs():
            if where.prefix and rel == "":
                self._list_add_result(files, f"{config_path}/{where.prefix[:-1]}", where.prefix[:-1], results_filter)
                continue
            if where.prefix and not (rel + "/").startswith(where.prefix):
                continue
            here = where.folder / (rel[len(where.prefix):] if where.prefix else rel)
            if here.is_dir():
                for entry in here.iterdir():
                    if entry.is_dir() or entry.suffix == ".yaml":
                        self._list_add_result(files, f"{config_path}/{entry.name}", entry.name, results_filter)
        return sorted(set(files))


class RecipeSearchPath(SearchPathPlugin):
    """Adds the recipe folders to the search path of the mm_train app."""

    def manipulate_search_path(self, search_path) -> None:
        search_path.append(provider="mm_train", path=f"{RecipeConfigSource.scheme()}://recipes")
