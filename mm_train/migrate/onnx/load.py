"""Read an ONNX model as data: checked, sizes verified before anything is allocated, external data only
from files inside the model's own folder.

    model = load_model("resnet50.onnx", max_params=2_000_000_000)

Every problem is one ConfigError naming the file (exit 2): a truncated or malformed file, an opset
outside 13..21, an external-data path that is absolute, contains ``..`` or leaves the folder through a
symlink, a tensor whose bytes do not fit its file, more parameters than ``limits.max_params``.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

from mm_train.core.errors import ConfigError

OPSETS = (13, 21)
EXPECTED = "an ONNX model file (torch.onnx.export, tf2onnx, ...)"


def _onnx():
    try:
        import onnx
    except ImportError:
        raise ConfigError("onnx", "the onnx package is not installed", expected="pip install 'mm_train[onnx]' "
                          "(onnx, and onnxruntime for the parity check)") from None
    return onnx


def opset(model) -> int:
    return max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)


def _itemsize(onnx, tensor) -> int:
    import numpy as np
    try:
        return np.dtype(onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type)).itemsize
    except (KeyError, TypeError, ValueError):
        raise ConfigError("", f"initializer '{tensor.name}' has an unsupported data type {tensor.data_type}",
                          expected="float, integer or bool tensors") from None


def _external(tensor) -> dict:
    return {e.key: e.value for e in tensor.external_data}


def check_external(path: Path, tensor, nbytes: int) -> None:
    """The tensor's external file is inside ``path``'s folder and holds its ``nbytes`` bytes."""
    info = _external(tensor)
    where = f"{path}: initializer '{tensor.name}'"
    location = info.get("location", "")
    folder = path.resolve().parent
    if not location or os.path.isabs(location) or location.startswith(("/", "\\")) or ".." in Path(location).parts \
            or ".." in location.replace("\\", "/").split("/"):
        raise ConfigError(where, f"external data path '{location}' is not inside the model's folder",
                          expected="a relative path without '..' next to the .onnx file")
    target = folder / location
    if not target.resolve().is_relative_to(folder):
        raise ConfigError(where, f"external data path '{location}' leads outside the model's folder "
                          f"(to {target.resolve()})", expected="a file inside the model's folder, no symlinks out")
    if not target.is_file():
        raise ConfigError(where, f"external data file '{location}' not found next to the model",
                          expected="the data file the exporter wrote, in the model's folder")
    try:
        offset, length = int(info.get("offset", 0)), info.get("length")
    except ValueError:
        raise ConfigError(where, f"external data offset {info.get('offset')!r} is not a number") from None
    length = nbytes if length is None else int(length)
    size = target.stat().st_size
    if length != nbytes or offset < 0 or offset + length > size:
        raise ConfigError(where, f"external data '{location}' has {size} bytes, the tensor needs {nbytes} at "
                          f"offset {offset} (length {length})", expected="an untruncated data file")


def load_model(path: str | Path, max_params: int):
    """The checked ``onnx.ModelProto`` with every initializer's data loaded."""
    onnx = _onnx()
    path = Path(path)
    if not path.is_file():
        raise ConfigError(str(path), "file not found", expected=EXPECTED)
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as err:   # protobuf's DecodeError and friends: the file is not a model
        reason = " ".join(str(err).split())[:200]
        raise ConfigError(str(path), f"cannot read the model ({type(err).__name__}: {reason})",
                          expected=EXPECTED + ", not truncated") from None
    if not model.graph.node:
        raise ConfigError(str(path), "the file holds no graph (truncated or not an ONNX model)", expected=EXPECTED)
    version = opset(model)
    if not OPSETS[0] <= version <= OPSETS[1]:
        raise ConfigError(str(path), f"opset {version}", expected=f"opset {OPSETS[0]} to {OPSETS[1]} "
                          f"(re-export with opset_version={OPSETS[1] - 4}, or onnx.version_converter)")
    total, external = 0, False
    for tensor in model.graph.initializer:
        count = math.prod(tensor.dims)
        total += count
        nbytes = count * _itemsize(onnx, tensor)
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            external = True
            check_external(path, tensor, nbytes)
        elif tensor.HasField("raw_data") and len(tensor.raw_data) != nbytes:
            raise ConfigError(f"{path}: initializer '{tensor.name}'", f"{len(tensor.raw_data)} bytes for shape "
                              f"{list(tensor.dims)} ({nbytes} needed)", expected=EXPECTED + ", not truncated")
    if total > max_params:
        raise ConfigError(str(path), f"{total:,} parameters in the initializers, more than limits.max_params "
                          f"{max_params:,}", expected="a smaller model, or a larger limits.max_params in the base")
    try:
        onnx.checker.check_model(str(path) if external else model)   # a path: external files checked from its folder
    except Exception as err:
        raise ConfigError(str(path), f"the ONNX checker rejects it: {' '.join(str(err).split())[:300]}",
                          expected=EXPECTED) from None
    if external:
        from onnx.external_data_helper import load_external_data_for_model
        try:
            load_external_data_for_model(model, str(path.resolve().parent))
        except Exception as err:
            raise ConfigError(str(path), f"cannot read its external data: {err}", expected=EXPECTED) from None
    return model
