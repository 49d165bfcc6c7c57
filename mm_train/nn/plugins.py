"""Blocks from other packages, found through the entry-point group ``mm_train.blocks``.

A package ships blocks by declaring, in its own metadata::

    [options.entry_points]                  # setup.cfg (or [project.entry-points."mm_train.blocks"])
    mm_train.blocks =
        SEBlock = team_blocks.se:se_block   # a block factory, registered under the entry point's name
        team = team_blocks.all              # a module whose import registers blocks with BLOCKS.register

and a recipe then names it like any block: ``se: {type: SEBlock, reduction: 16}``.
A name that is already taken is a ConfigError naming both places.
"""
from __future__ import annotations

import functools
import inspect
from importlib import metadata

from mm_train.core.errors import ConfigError
from mm_train.registry import BLOCKS

GROUP = "mm_train.blocks"
_loaded: set[tuple[str, str]] = set()


@functools.lru_cache(maxsize=None)
def _entry_points():
    """The group's entry points, read once per process (installing a package needs a new process)."""
    found = metadata.entry_points()
    if hasattr(found, "select"):
        return tuple(found.select(group=GROUP))
    return tuple(found.get(GROUP, []))   # Python < 3.10


def describe(ep) -> str:
    dist = getattr(ep, "dist", None)
    where = f" of package {dist.name} {dist.version}" if dist is not None else ""
    return f"entry point '{ep.name} = {ep.value}' (group {GROUP}){where}"


def load_plugins() -> list[str]:
    """Load every ``mm_train.blocks`` entry point not loaded yet; return the block names they added."""
    added = []
    for ep in _entry_points():
        key = (ep.name, ep.value)
        if key in _loaded:
            continue
        before = set(BLOCKS.names())
        try:
            target = ep.load()
        except ValueError as err:   # Registry.register: a name taken twice, while importing the plugin
            raise ConfigError(describe(ep), str(err)) from None
        except Exception as err:  # noqa: BLE001 - a broken plugin is the user's environment problem
            raise ConfigError(describe(ep), f"cannot load the plugin: {type(err).__name__}: {err}") from None
        if not inspect.ismodule(target):
            origin = f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', ep.name)}"
            if ep.name in BLOCKS and BLOCKS.origin(ep.name) != origin:
                raise ConfigError(describe(ep), f"block '{ep.name}' is registered twice: by "
                                  f"{BLOCKS.origin(ep.name)} and by {origin}",
                                  expected="a block name not taken by mm_train or another plugin")
            if not callable(target):
                raise ConfigError(describe(ep), f"{ep.value} is not callable",
                                  expected="a block factory f(in_shape, **kwargs) -> (cell, out_shape) or a module")
            BLOCKS.register(ep.name, target)
        _loaded.add(key)
        added += sorted(set(BLOCKS.names()) - before)
    return added
