"""Read a weight file of another framework into ``{name: numpy array}``.

    read_weights("resnet18.safetensors")          # PyTorch, safetensors
    read_weights("resnet18.pth")                  # PyTorch, torch.save (no torch needed)
    read_weights("resnet50.h5")                   # Keras 2 save_weights (h5py: pip install mm_train[tf])
    read_weights("resnet50.weights.h5")           # Keras 3 save_weights (layers/conv2d_3/vars/0: by position)
    read_weights("resnet50.keras")                # Keras 3 model.save: model.weights.h5 named by config.json
    read_weights("resnet50.npz")                  # TensorFlow variables saved with numpy.savez
    read_weights("model.ckpt")                    # MindSpore

The format follows from the suffix; ``format`` (torch | tf | mindspore) only picks the
default rule set when the suffix says less (.npz, .bin).
"""
from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from mm_train.core.errors import ConfigError
from mm_train.migrate import keras3

FORMATS = ("torch", "tf", "mindspore")
SUFFIXES = {".safetensors": "torch", ".pt": "torch", ".pth": "torch", ".bin": "torch",
            ".npz": "tf", ".h5": "tf", ".hdf5": "tf", ".keras": "tf", ".ckpt": "mindspore"}


def guess_format(path: str | Path) -> str | None:
    return SUFFIXES.get(Path(path).suffix.lower())


def _flatten(obj: Any, prefix: str = "") -> dict[str, np.ndarray]:
    """Arrays of nested dicts under dotted names; a checkpoint's ``state_dict``/``model`` entry wins."""
    if isinstance(obj, Mapping):
        for key in ("state_dict", "model_state_dict", "model"):
            if not prefix and isinstance(obj.get(key), Mapping):
                return _flatten(obj[key])
        out = {}
        for key, value in obj.items():
            out.update(_flatten(value, f"{prefix}{key}" if isinstance(value, np.ndarray) else f"{prefix}{key}."))
        return out
    return {prefix: obj} if isinstance(obj, np.ndarray) else {}


def _read_safetensors(path: Path, where: str) -> dict[str, np.ndarray]:
    """With the safetensors library; bfloat16 tensors (numpy has no such type) become float32."""
    from safetensors import SafetensorError, safe_open
    from safetensors.numpy import load_file
    try:
        return load_file(str(path))
    except TypeError:          # 'bfloat16' not understood: read those tensors from the raw bytes
        pass
    except (SafetensorError, ValueError) as err:
        raise ConfigError(where, f"cannot read {path}: {err}", expected="a safetensors file") from None
    import json
    import struct
    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(size))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        if info["dtype"] == "BF16":
            raw = np.frombuffer(data[start:end], dtype="<u2").astype(np.uint32) << 16
            out[name] = raw.view(np.float32).reshape(info["shape"])
        else:
            with safe_open(str(path), framework="numpy") as tensors:
                out[name] = tensors.get_tensor(name)
    return out


def _read_h5(path: Path | io.BytesIO, where: str, label: str | None = None,
             config: dict | None = None) -> dict[str, np.ndarray]:
    try:
        import h5py
    except ImportError:
        raise ConfigError(where, f"reading {label or path} needs h5py", expected="pip install 'mm_train[tf]' (or "
                          "h5py), or save the variables as .npz") from None
    out: dict[str, np.ndarray] = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, item: out.__setitem__(name, np.asarray(item)) if isinstance(item, h5py.Dataset)
                     else None)
    if keras3.is_keras3(out):
        return keras3.named(out, config)
    return out


def _read_keras(path: Path, where: str) -> dict[str, np.ndarray]:
    """Keras 3's ``model.save("m.keras")``: a zip with model.weights.h5 and config.json (the layer names)."""
    import json
    if not zipfile.is_zipfile(path):
        raise ConfigError(where, f"{path} is not a Keras 3 .keras archive", expected="a file written by "
                          "model.save('model.keras') (a zip holding model.weights.h5)")
    with zipfile.ZipFile(path) as archive:
        if "model.weights.h5" not in archive.namelist():
            raise ConfigError(where, f"{path} holds no model.weights.h5", expected="a file written by "
                              "model.save('model.keras')")
        data = io.BytesIO(archive.read("model.weights.h5"))
        try:
            config = json.loads(archive.read("config.json")) if "config.json" in archive.namelist() else None
        except ValueError as err:
            raise ConfigError(where, f"{path}: config.json is not JSON: {err}") from None
    return _read_h5(data, where, f"{path}:model.weights.h5", config if isinstance(config, dict) else None)


def _read_ckpt(path: Path, where: str) -> dict[str, np.ndarray]:
    import mindspore as ms
    try:
        params = ms.load_checkpoint(str(path))
    except (ValueError, RuntimeError) as err:
        raise ConfigError(where, f"cannot read {path}: {err}", expected="a MindSpore .ckpt file") from None
    return {k: v.asnumpy() for k, v in params.items()}


def read_weights(path: str | Path, where: str = "init_from") -> dict[str, np.ndarray]:
    """Every tensor in the weight file ``path``, by its name in the file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(where, f"weight file not found: {path}",
                          expected="a .safetensors, .pt/.pth, .npz, .h5, .keras or .ckpt file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".safetensors":
            weights = _read_safetensors(path, where)
        elif suffix in (".pt", ".pth", ".bin"):
            from mm_train.migrate.torch_pickle import load_torch_file
            weights = _flatten(load_torch_file(path, where))
        elif suffix == ".npz":
            with np.load(path, allow_pickle=False) as data:
                weights = {k: data[k] for k in data.files}
        elif suffix in (".h5", ".hdf5"):
            weights = _read_h5(path, where)
        elif suffix == ".keras":
            weights = _read_keras(path, where)
        elif suffix == ".ckpt":
            weights = _read_ckpt(path, where)
        else:
            raise ConfigError(where, f"unknown weight file type '{suffix}' ({path})",
                              expected=f"one of {sorted(SUFFIXES)}")
    except OSError as err:
        raise ConfigError(where, f"cannot read {path}: {err}") from None
    except ValueError as err:   # np.load of an object array, a damaged zip
        raise ConfigError(where, f"cannot read {path}: {err}") from None
    if not weights:
        raise ConfigError(where, f"{path} holds no tensors", expected="a file of named weight arrays")
    return weights
