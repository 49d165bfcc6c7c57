"""One registry type for every kind of component a recipe can name.

Recipes name components by registry name (``type: Conv2d``), never by import
path. A miss suggests the closest registered names::

    >>> LOSSES.get("SoftmaxCrossEntropy", "loss.type")
    ConfigError: loss.type: unknown loss 'SoftmaxCrossEntropy' ... Did you mean 'SoftmaxCrossEntropyWithLogits'?
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, Mapping

from mm_train.argtypes import hints, type_problem
from mm_train.errors import ConfigError, closest


class Registry:
    """Names -> factories for one kind of component (``kind`` is used in messages)."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, Callable[..., Any]] = {}
        self._origins: dict[str, str] = {}

    def register(self, name: str | None = None, obj: Callable[..., Any] | None = None):
        """Register ``obj`` under ``name``; usable as a decorator. A taken name is an error."""
        def add(target: Callable[..., Any]) -> Callable[..., Any]:
            key = name or target.__name__
            origin = f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', key)}"
            if key in self._items and self._origins[key] != origin:
                raise ValueError(f"{self.kind} '{key}' is registered twice: "
                                 f"by {self._origins[key]} and by {origin}")
            self._items[key], self._origins[key] = target, origin
            return target
        return add(obj) if obj is not None else add

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: str) -> bool:
        return name in self._items

    def origin(self, name: str) -> str:
        return self._origins[name]

    def get(self, name: Any, where: str) -> Callable[..., Any]:
        """The factory registered as ``name``; ``where`` is the key path for messages."""
        if not isinstance(name, str) or name not in self._items:
            raise ConfigError(where, f"unknown {self.kind} '{name}'",
                              expected=f"a registered {self.kind} name, see: mm-train blocks ls",
                              suggestions=closest(str(name), self._items))
        return self._items[name]

    def build(self, spec: Mapping[str, Any], where: str, *args: Any, **extra: Any) -> Any:
        """Call the factory named by ``spec['type']`` with the rest of ``spec`` as keywords."""
        if not isinstance(spec, Mapping) or "type" not in spec:
            raise ConfigError(where, f"a {self.kind} needs a 'type'",
                              expected=f"a mapping like {{type: NAME, ...}}, NAME one of {self.names()[:8]}")
        kwargs = {k: v for k, v in spec.items() if k != "type"}
        factory = self.get(spec["type"], f"{where}.type")
        check_arguments(factory, kwargs, where, skip=len(args), given=extra)
        return factory(*args, **kwargs, **extra)


def check_arguments(factory: Callable[..., Any], kwargs: Mapping[str, Any], where: str,
                    skip: int = 0, given: Mapping[str, Any] = ()) -> None:
    """Raise ConfigError naming unknown, missing or mistyped keyword arguments of ``factory``."""
    try:
        params = list(inspect.signature(factory).parameters.values())[skip:]
    except (TypeError, ValueError):
        return
    names = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    errors = []
    if not any(p.kind is p.VAR_KEYWORD for p in params):
        errors += [ConfigError(f"{where}.{key}", "unknown argument",
                               expected=f"one of {sorted(set(names) - set(given))}",
                               suggestions=closest(key, names))
                   for key in kwargs if key not in names]
    required = [p.name for p in params if p.default is p.empty
                and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    errors += [ConfigError(f"{where}.{key}", "missing required argument")
               for key in required if key not in kwargs and key not in given]
    types = hints(factory)
    for key, value in kwargs.items():
        if key in types and key in names and (expected := type_problem(value, types[key])):
            errors.append(ConfigError(f"{where}.{key}", f"got {value!r}", expected=expected))
    if errors:
        raise ConfigError.collect(errors)


DATASETS = Registry("dataset")
TRANSFORMS = Registry("transform")
BLOCKS = Registry("block")
LOSSES = Registry("loss")
OPTIMIZERS = Registry("optimizer")
LR_SCHEDULES = Registry("lr schedule")
CALLBACKS = Registry("callback")

ALL = {r.kind: r for r in (DATASETS, TRANSFORMS, BLOCKS, LOSSES, OPTIMIZERS, LR_SCHEDULES, CALLBACKS)}
