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

from mm_train.run_dir import paths


MAX_INT = 2**31 - 1        # every whole-number argument stays below this (sizes, strides, counts)
MAX_REPEAT = 1000          # copies of a block (ResNet-152 has 36)
MAX_NUMBER = 1e30          # every real-number argument is finite and below this in size


class PositiveInt(int):
    """A whole number from 1 to 2**31-1 (channels, kernel sizes)."""


class NonNegativeInt(int):
    """A whole number from 0 to 2**31-1 (padding)."""


class Repeats(int):
    """A whole number from 1 to MAX_REPEAT (copies of a block)."""


class Workers(int):
    """Parallel workers of a data pipeline: 1 to 256."""


BOUNDS = {int: (-MAX_INT - 1, MAX_INT), PositiveInt: (1, MAX_INT), NonNegativeInt: (0, MAX_INT),
          Repeats: (1, MAX_REPEAT), Workers: (1, 256)}


def _ints(value, low: int) -> bool:
    return all(isinstance(v, int) and not isinstance(v, bool) and low <= v <= MAX_INT for v in value)


class Size:
    """3 or [3, 3]: a whole number >= 1, or one per spatial axis."""
    description = f"a whole number from 1 to {MAX_INT} or a pair [h, w] of them"

    @staticmethod
    def fits(value) -> bool:
        return _ints([value], 1) if not isinstance(value, (list, tuple)) else len(value) == 2 and _ints(value, 1)


class Padding:
    """1, [1, 1] (top/bottom, left/right) or [1, 1, 1, 1] (top, bottom, left, right)."""
    description = f"a whole number from 0 to {MAX_INT}, or a list of 2 or 4 of them"

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


class _Real:
    """A finite real number within bounds (``low``/``high`` inclusive unless ``open_low``/``open_high``)."""
    low, high, open_low, open_high = -MAX_NUMBER, MAX_NUMBER, False, False

    @classmethod
    def fits(cls, value) -> bool:
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value != value:
            return False
        above = value > cls.low if cls.open_low else value >= cls.low
        below = value < cls.high if cls.open_high else value <= cls.high
        return above and below


class Fraction(_Real):
    """A momentum, a beta, a decay rate: from 0 up to, not including, 1."""
    low, high, open_high = 0.0, 1.0, True
    description = "a number in [0, 1)"


class UnitInterval(_Real):
    """A weight from 0 to 1 (dampening)."""
    low, high = 0.0, 1.0
    description = "a number in [0, 1]"


class Epsilon(_Real):
    """A small positive constant added to a denominator: above 0, at most 1."""
    low, high, open_low = 0.0, 1.0, True
    description = "a number in (0, 1], e.g. 1e-8"


class NonNegativeFloat(_Real):
    """A weight decay, a coefficient: 0 or more."""
    low = 0.0
    description = f"a number from 0 to {MAX_NUMBER:g}"


class PositiveFloat(_Real):
    low, open_low = 0.0, True
    description = f"a number above 0, at most {MAX_NUMBER:g}"


class RunFileName(str):
    """A file name the run writes into its run directory (checkpoint prefix, TensorBoard folder, plot)."""

    description = paths.RULE

    @staticmethod
    def fits(value) -> bool:
        return paths.name_problem(value) is None


class ParamCount:
    """A parameter budget: a whole number from 1 to 10**12 (``1e12`` counts as one)."""
    description = "a whole number from 1 to 1000000000000 (1e12)"
    high = 10**12

    @staticmethod
    def fits(value) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        return (isinstance(value, int) or float(value).is_integer()) and 1 <= value <= ParamCount.high


PadMode = Literal["same", "valid", "pad", "SAME", "VALID", "PAD"]
Initializer = Union[None, str, float, Mapping[str, Any]]


def _name(hint) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hasattr(hint, "description"):
        return hint.description
    if hint in BOUNDS:
        return "a whole number from {} to {}".format(*BOUNDS[hint])
    if hint in (float, bool, str):
        return {float: "a finite number", bool: "true or false", str: "a string"}[hint]
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
    if hint in BOUNDS:
        low, high = BOUNDS[hint]
        return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) <= MAX_NUMBER
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
