"""Transforms by name: ``{type: RandomCrop, size: 32, padding: 4}``.

Every transform class of ``mindspore.dataset.vision`` and
``mindspore.dataset.transforms`` is registered under its own name. Strings are
turned into the enums and dtypes MindSpore expects (``interpolation: bilinear``,
``padding_mode: edge``, ``data_type: int32``).
"""
from __future__ import annotations

import enum
import inspect
from typing import Any, Mapping, Sequence

import mindspore as ms
import mindspore.dataset.transforms as ms_transforms
import mindspore.dataset.vision as ms_vision
from mindspore.dataset.transforms.transforms import PyTensorOperation, TensorOperation

from mm_train.errors import ConfigError, closest
from mm_train.registry import TRANSFORMS


# Loads a shared library given by path: a recipe must never be able to run code.
EXCLUDED = {"Plugin"}
# Enum parameters without an enum default (required arguments): by parameter name.
ENUM_PARAMETERS = {"image_batch_format": ms_vision.ImageBatchFormat}


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
        elif isinstance(value, list):
            value = tuple(value) if key in ("size", "padding", "mean", "std", "scale", "ratio") else value
        out[key] = value
    return out


def instantiate(cls, args, kwargs: dict[str, Any], where: str):
    """The registry's ``build_func`` for transforms: strings to enums and dtypes, then the class."""
    try:
        return cls(*args, **_coerce(cls, kwargs, where))
    except (TypeError, ValueError) as err:
        raise ConfigError(where, f"{cls.__name__}: {err}") from None


def build_transform(spec: Mapping[str, Any], where: str):
    return TRANSFORMS.build(spec, where)


def build_transforms(specs: Sequence[Mapping[str, Any]] | None, where: str) -> list:
    return [build_transform(spec, f"{where}[{i}]") for i, spec in enumerate(specs or [])]
