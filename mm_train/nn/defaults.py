"""``network.defaults``: arguments for every block of a type, so a recipe need not repeat them.

    network:
      defaults: {BatchNorm2d: {momentum: 0.99, eps: 1.0e-3}, ConvBNReLU: {momentum: 0.99}}
      layers: ...

Each block spec of that type (at any depth: Sequential ``layers``, Residual ``body``, Repeat
``block``; and Stage, whose ``block`` names the type) gets the arguments it does not set itself.
It is a rewrite of the spec before anything is built or checked, so validation sees the result.
"""
from __future__ import annotations

from typing import Any, Mapping

from mm_train.core.errors import ConfigError, closest

NESTED = ("layers", "body", "shortcut")


def defaults_errors(defaults: Any, where: str = "network.defaults") -> list[ConfigError]:
    """Each key a registered block type, each value a mapping of arguments that type takes."""
    import inspect
    from mm_train.registry import BLOCKS
    if defaults is None:
        return []
    if not isinstance(defaults, Mapping):
        return [ConfigError(where, f"got {defaults!r}", expected="a mapping BLOCK_TYPE -> {argument: value}")]
    errors = []
    for kind, args in defaults.items():
        if kind not in BLOCKS:
            errors.append(ConfigError(f"{where}.{kind}", "unknown block type", expected="a registered block",
                                      suggestions=closest(str(kind), BLOCKS.names())))
            continue
        if not isinstance(args, Mapping):
            errors.append(ConfigError(f"{where}.{kind}", f"got {args!r}", expected="a mapping of arguments"))
            continue
        names = [p.name for p in BLOCKS.parameters(BLOCKS.get(kind, kind))]
        takes_any = any(p.kind is p.VAR_KEYWORD for p in inspect.signature(BLOCKS.get(kind, kind)).parameters.values())
        errors += [ConfigError(f"{where}.{kind}.{key}", "unknown argument", expected=f"one of {names}",
                               suggestions=closest(str(key), names))
                   for key in args if key not in names and not takes_any]
    return errors


def apply_defaults(spec: Any, defaults: Mapping[str, Mapping[str, Any]] | None) -> Any:
    """``spec`` (a block spec, a mapping or a list of them) with ``defaults`` filled in where unset."""
    if not defaults:
        return spec
    if isinstance(spec, list):
        return [apply_defaults(s, defaults) for s in spec]
    if not isinstance(spec, Mapping):
        return spec
    if "type" not in spec:   # a mapping of named layers
        return {name: apply_defaults(s, defaults) for name, s in spec.items()}
    out = dict(spec)
    for kind in (spec.get("type"), spec.get("block") if isinstance(spec.get("block"), str) else None):
        if isinstance(defaults.get(kind), Mapping):
            out = {**defaults[kind], **out}
    if isinstance(out.get("block"), Mapping):
        out["block"] = apply_defaults(out["block"], defaults)
    for key in NESTED:
        if isinstance(out.get(key), (list, Mapping)):
            out[key] = apply_defaults(out[key], defaults)
    return out
