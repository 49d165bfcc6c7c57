"""Check recipe values against a factory's type hints, so a wrong type is a clear error.

    def conv2d(in_shape, out_channels: PositiveInt, kernel_size: Size, pad_mode: PadMode = "same"): ...
    type_problem("abc", PositiveInt)  # -> "a whole number >= 1"

Supported hints: int, float, bool, str, None, Any, Optional/Union, Literal,
Sequence[X] / list[X] / tuple[X, ...], Mapping / dict, and the aliases below.
"""
from __future__ import annotations

import collections.abc
import typing
from typing import Any, Literal, Mapping, Optional, Union


class PositiveInt(int):
    """A whole number >= 1 (channels, kernel sizes, repeats)."""


class NonNegativeInt(int):
    """A whole number >= 0 (padding)."""


def _ints(value, low: int) -> bool:
    return all(isinstance(v, int) and not isinstance(v, bool) and v >= low for v in value)


class Size:
    """3 or [3, 3]: a whole number >= 1, or one per spatial axis."""
    description = "a whole number >= 1 or a pair [h, w]"

    @staticmethod
    def fits(value) -> bool:
        return _ints([value], 1) if not isinstance(value, (list, tuple)) else len(value) == 2 and _ints(value, 1)


class Padding:
    """1, [1, 1] (top/bottom, left/right) or [1, 1, 1, 1] (top, bottom, left, right)."""
    description = "a whole number >= 0, or a list of 2 or 4 of them"

    @staticmethod
    def fits(value) -> bool:
        return _ints([value], 0) if not isinstance(value, (list, tuple)) else len(value) in (2, 4) and _ints(value, 0)

class Paths:
    """A file path, or a non-empty list of them."""
    description = "a file path or a non-empty list of file paths"

    @staticmethod
    def fits(value) -> bool:
        values = value if isinstance(value, (list, tuple)) else [value]
        return bool(values) and all(isinstance(v, str) and v for v in values)


PadMode = Literal["same", "valid", "pad", "SAME", "VALID", "PAD"]
Initializer = Union[None, str, float, Mapping[str, Any]]


def _name(hint) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hasattr(hint, "description"):
        return hint.description
    if hint is PositiveInt:
        return "a whole number >= 1"
    if hint is NonNegativeInt:
        return "a whole number >= 0"
    if hint in (int, float, bool, str):
        return {int: "a whole number", float: "a number", bool: "true or false", str: "a string"}[hint]
    if hint is type(None):
        return "null"
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin is Union:
        return " or ".join(_name(a) for a in args)
    if origin in (list, tuple, collections.abc.Sequence):
        return f"a list of {_name(args[0]).removeprefix('a ')}s" if args else "a list"
    if origin in (dict, collections.abc.Mapping) or hint in (dict, Mapping):
        return "a mapping"
    return getattr(hint, "__name__", str(hint))


def _fits(value: Any, hint) -> bool:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if hasattr(hint, "fits"):
        return hint.fits(value)
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint in (int, PositiveInt, NonNegativeInt):
        ok = isinstance(value, int) and not isinstance(value, bool)
        return ok and (hint is int or value >= (1 if hint is PositiveInt else 0))
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin is Literal:
        return value in args
    if origin is Union:
        return any(_fits(value, a) for a in args)
    if origin in (list, tuple, collections.abc.Sequence):
        if not isinstance(value, (list, tuple)):
            return False
        inner = args[0] if args else Any
        return all(_fits(v, inner) for v in value)
    if origin in (dict, collections.abc.Mapping) or hint in (dict, Mapping):
        return isinstance(value, collections.abc.Mapping)
    return True   # a hint this checker does not know: MindSpore checks it


def type_problem(value: Any, hint) -> Optional[str]:
    """None when ``value`` fits ``hint``, else what was expected."""
    return None if _fits(value, hint) else _name(hint)


def hints(factory) -> dict[str, Any]:
    try:
        return typing.get_type_hints(factory)
    except Exception:  # noqa: BLE001 - unresolvable hints: nothing to check
        return {}
