"""Transforms by name: ``{type: RandomCrop, size: 32, padding: 4}``.

Every transform class of ``mindspore.dataset.vision`` and
``mindspore.dataset.transforms`` is registered under its own name. Strings are
turned into the enums and dtypes MindSpore expects (``interpolation: bilinear``,
``padding_mode: edge``, ``data_type: int32``), lists into the tuples MindSpore
takes (``fill_value: [124, 116, 104]``), and nested lists of transforms are built
wherever an op takes them::

    - {type: RandomChoice, transforms: [{type: RandAugment}, {type: TrivialAugmentWide}]}
    - {type: RandomApply, prob: 0.8, transforms: [{type: RandomColorAdjust, brightness: 0.4}]}
    - {type: RandomResizedCrop, size: 224, interpolation: random}   # timm: bilinear or bicubic per image

``interpolation: random`` (or a list such as ``[bilinear, bicubic]``) picks one interpolation per
image, as timm's ``interpolation='random'``: a ``RandomChoice`` of the op with each.
:func:`transform_errors` finds every problem of a spec, nested ones and enum values included,
without building it.
"""
from __future__ import annotations

import enum
import inspect
from typing import Any, Mapping, Sequence

import mindspore as ms
import mindspore.dataset.transforms as ms_transforms
import mindspore.dataset.vision as ms_vision
from mindspore.dataset.transforms.transforms import PyTensorOperation, TensorOperation

from mm_train.core.errors import ConfigError, closest
from mm_train.registry import TRANSFORMS


# Loads a shared library given by path: a recipe must never be able to run code.
EXCLUDED = {"Plugin"}
# Enum parameters without an enum default (required arguments): by parameter name.
ENUM_PARAMETERS = {"image_batch_format": ms_vision.ImageBatchFormat}
NESTED = "transforms"               # the argument that holds a list of transforms (RandomChoice, Compose...)
RANDOM_INTERPOLATION = ("bilinear", "bicubic")   # timm's interpolation='random'


def _register_module(module) -> None:
    for name, obj in vars(module).items():
        if (inspect.isclass(obj) and issubclass(obj, (TensorOperation, PyTensorOperation))
                and not name.startswith("_") and name not in EXCLUDED and name not in TRANSFORMS):
            TRANSFORMS.register(name, obj)


for _module in (ms_vision, ms_transforms):
    _register_module(_module)


def _dtype(value: Any, where: str):
    if not isinstance(value, str):
        return value
    dtype = getattr(ms, value, None)
    if not isinstance(dtype, ms.dtype.Type):
        names = ["bool_", "int8", "int16", "int32", "int64", "uint8", "float16", "float32", "float64"]
        raise ConfigError(where, f"unknown dtype '{value}'", expected=f"one of {names}",
                          suggestions=closest(value, names))
    return dtype


def _coerce(cls, kwargs: dict[str, Any], where: str) -> dict[str, Any]:
    """Strings to the enum or dtype a parameter's default or name implies."""
    params = inspect.signature(cls).parameters
    out = {}
    for key, value in kwargs.items():
        default = params[key].default if key in params else None
        kind = type(default) if isinstance(default, enum.Enum) else ENUM_PARAMETERS.get(key)
        if key == "data_type":
            value = _dtype(value, f"{where}.{key}")
        elif kind is not None and isinstance(value, str):
            members = {m.name.lower(): m for m in kind} | {str(m.value).lower(): m for m in kind}
            if value.lower() not in members:
                raise ConfigError(f"{where}.{key}", f"unknown value '{value}'",
                                  expected=f"one of {sorted({m.name.lower() for m in kind})}",
                                  suggestions=closest(value.lower(), members))
            value = members[value.lower()]
        elif key == NESTED and isinstance(value, list):
            value = [build_transform(spec, f"{where}.{key}[{i}]") for i, spec in enumerate(value)]
        elif isinstance(value, list):
            value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
        out[key] = value
    return out


def _interpolations(kwargs: Mapping[str, Any]) -> list | None:
    """The interpolations of ``interpolation: random`` or a list of them, else None."""
    value = kwargs.get("interpolation")
    if value == "random":
        return list(RANDOM_INTERPOLATION)
    return list(value) if isinstance(value, list) else None


def instantiate(cls, args, kwargs: dict[str, Any], where: str):
    """The registry's ``build_func`` for transforms: strings to enums and dtypes, then the class."""
    choices = _interpolations(kwargs) if inspect.isclass(cls) else None   # mm_train's own ops read it themselves
    if choices is not None:
        ops = [instantiate(cls, args, {**kwargs, "interpolation": c}, f"{where}.interpolation") for c in choices]
        return ops[0] if len(ops) == 1 else ms_transforms.RandomChoice(ops)
    name = cls.__name__ if inspect.isclass(cls) else ""
    try:
        return cls(*args, **_coerce(cls, kwargs, where))
    except (TypeError, ValueError) as err:
        raise ConfigError(where, f"{name}: {err}" if name else str(err)) from None


def transform_errors(spec: Any, where: str) -> list[ConfigError]:
    """Every problem of a transform spec without building it: name, arguments, enum values, nested lists."""
    errors = TRANSFORMS.check_spec(spec, where)
    if errors or not isinstance(spec, Mapping):
        return errors
    cls = TRANSFORMS.get(spec["type"], f"{where}.type")
    kwargs = {k: v for k, v in spec.items() if k != "type"}
    nested = kwargs.pop(NESTED, None)
    if isinstance(nested, list):
        for i, inner in enumerate(nested):
            errors += transform_errors(inner, f"{where}.{NESTED}[{i}]")
    elif nested is not None:
        errors.append(ConfigError(f"{where}.{NESTED}", f"got {nested!r}", expected="a list of {type: NAME, ...}"))
    choices = _interpolations(kwargs) if inspect.isclass(cls) else None
    for value in choices or [kwargs.get("interpolation")] if "interpolation" in kwargs else []:
        try:
            _coerce(cls, {"interpolation": value}, where)
        except ConfigError as err:
            errors += err.problems
    try:
        _coerce(cls, {k: v for k, v in kwargs.items() if k != "interpolation"}, where)
    except ConfigError as err:
        errors += err.problems
    return errors


def build_transform(spec: Mapping[str, Any], where: str):
    return TRANSFORMS.build(spec, where)


def build_transforms(specs: Sequence[Mapping[str, Any]] | None, where: str) -> list:
    return [build_transform(spec, f"{where}[{i}]") for i, spec in enumerate(specs or [])]
