"""Read a PyTorch ``torch.save`` file (.pt/.pth, the zip format) without torch, and without
unpickling arbitrary objects.

The pickle in ``ARCHIVE/data.pkl`` may name only the globals that rebuild tensors
(``torch._utils._rebuild_tensor_v2``, ``torch.FloatStorage`` & co, ``collections.OrderedDict``) and a few
inert standard-library types that training checkpoints carry (``argparse.Namespace``, ``pathlib`` paths,
``datetime``, ``set``: :func:`_inert_stdlib`);
any other global (``os.system``, ``builtins.eval``...) is refused when the pickle names it,
before anything in it is called. Storages are read with numpy from ``ARCHIVE/data/KEY``::

    state = load_torch_file("resnet18.pth")     # {"conv1.weight": ndarray (64, 3, 7, 7), ...}

A tensor is a view of a storage (size, stride, offset): a 1.6 KB file can describe a 10**6 x
10**6 tensor with stride 0. Tensors are kept as bounds-checked layouts while unpickling and
copied out only afterwards, once their total size is known to fit the budget: 4 x the bytes of
the file's storages, at least 256 MiB (room for tied and transposed views); a file beyond it is
a ConfigError naming the tensor and its size, never an allocation crash. A compressed zip entry
(which ``torch.save`` never writes) is refused before it is inflated: its declared size could be
anything (a zip bomb), a stored entry's is bounded by the file's size.
"""
from __future__ import annotations

import math
import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from mm_train.core.errors import ConfigError

MIN_BUDGET = 256 * 2**20     # bytes: the tensors of any file may take this much (see the module docstring)
AMPLIFICATION = 4            # and 4 x the bytes the file stores

STORAGE_DTYPES = {
    "FloatStorage": "f4", "DoubleStorage": "f8", "HalfStorage": "f2", "BFloat16Storage": "u2",
    "LongStorage": "i8", "IntStorage": "i4", "ShortStorage": "i2", "CharStorage": "i1",
    "ByteStorage": "u1", "BoolStorage": "?",
}


class StorageType:
    """Stands for ``torch.FloatStorage`` & co: only its element type is used."""

    def __init__(self, name: str):
        self.name, self.dtype = name, STORAGE_DTYPES[name]


class Storage:
    """One ``data/KEY`` record of the archive as a flat numpy array."""

    def __init__(self, array: np.ndarray, bfloat16: bool):
        self.array, self.bfloat16 = array, bfloat16


class TensorLayout:
    """A tensor as the pickle describes it: ``size``/``stride``/``offset`` into a storage, not copied yet."""

    def __init__(self, storage: Storage, offset: int, size: tuple, stride: tuple):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride
        self.numel = math.prod(size)
        self.nbytes = self.numel * (4 if storage.bfloat16 else storage.array.itemsize)

    def array(self) -> np.ndarray:
        """The tensor as a new numpy array (bfloat16 becomes float32)."""
        flat = self.storage.array
        view = np.lib.stride_tricks.as_strided(flat[self.offset:] if flat.size else flat, shape=self.size,
                                               strides=tuple(s * flat.itemsize for s in self.stride),
                                               writeable=False)
        array = np.array(view, dtype=flat.dtype.newbyteorder("="), order="C")
        if self.storage.bfloat16:   # bfloat16 is the high half of a float32
            array = (array.astype(np.uint32) << 16).view(np.float32)
        return array


def _rebuild_tensor(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                    metadata=None):
    """``torch._utils._rebuild_tensor_v2``: the layout, checked to lie inside ``storage``."""
    if not isinstance(storage, Storage):
        raise pickle.UnpicklingError("a tensor without a storage")
    size, stride, offset = tuple(int(s) for s in size), tuple(int(s) for s in stride), int(storage_offset)
    flat = storage.array
    if len(size) != len(stride) or offset < 0 or any(s < 0 for s in size) or any(s < 0 for s in stride):
        raise pickle.UnpicklingError(f"bad tensor layout: size {size}, stride {stride}, offset {offset}")
    last = offset + sum((n - 1) * s for n, s in zip(size, stride)) if all(size) else offset - 1
    if last >= flat.size:
        raise pickle.UnpicklingError(f"tensor of size {size} reads past its storage of {flat.size} elements")
    return TensorLayout(storage, offset, size, stride)


def _size(nbytes: int) -> str:
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if nbytes >= scale:
            return f"{nbytes / scale:.1f} {unit}"
    return f"{nbytes} bytes"


def materialise(obj: Any, budget: int, where: str, path: Path, stored: int) -> Any:
    """``obj`` with every TensorLayout copied out as an array, while their total stays within ``budget`` bytes."""
    total, done = 0, {}

    def walk(value, name):
        nonlocal total
        if isinstance(value, TensorLayout):
            if id(value) not in done:
                total += value.nbytes
                if total > budget:
                    raise ConfigError(where, f"refused to load {path}: tensor '{name}' of shape {list(value.size)} "
                                      f"holds {value.numel:,} elements ({_size(value.nbytes)}) built from "
                                      f"{value.storage.array.size:,} stored elements; the tensors of this file may "
                                      f"take at most {_size(budget)} (4 x its {_size(stored)} of storage, at least "
                                      f"{_size(MIN_BUDGET)})",
                                      expected="a state_dict of real tensors, not expanded views "
                                               "(save t.contiguous().clone())")
                done[id(value)] = value.array()
            return done[id(value)]
        if isinstance(value, dict):
            return type(value)((k, walk(v, f"{name}.{k}" if name else str(k))) for k, v in value.items())
        if isinstance(value, (list, tuple)):
            return type(value)(walk(v, f"{name}.{i}" if name else str(i)) for i, v in enumerate(value))
        return value

    return walk(obj, "")


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, *state):
    return data


def _inert_stdlib() -> dict:
    """Standard-library types that hold data and run nothing of the file's when rebuilt: what training
    checkpoints carry besides tensors (torchvision's references/classification/train.py saves its
    ``argparse.Namespace`` as ``args``)."""
    import argparse
    import builtins
    import datetime
    import pathlib

    types = {("argparse", "Namespace"): argparse.Namespace,
             ("pathlib", "PosixPath"): pathlib.PurePosixPath, ("pathlib", "WindowsPath"): pathlib.PureWindowsPath,
             ("pathlib", "PurePosixPath"): pathlib.PurePosixPath,
             ("pathlib", "PureWindowsPath"): pathlib.PureWindowsPath}
    types.update({("datetime", n): getattr(datetime, n) for n in ("date", "time", "datetime", "timedelta")})
    types.update({("builtins", n): getattr(builtins, n) for n in ("set", "frozenset", "slice", "complex")})
    return types


ALLOWED = {
    **_inert_stdlib(),
    ("collections", "OrderedDict"): OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    **{("torch", name): StorageType(name) for name in STORAGE_DTYPES},
}


class TensorUnpickler(pickle.Unpickler):
    """An unpickler that admits only :data:`ALLOWED` globals and the archive's own storages."""

    def __init__(self, file, archive: zipfile.ZipFile, prefix: str, byteorder: str, source: str):
        super().__init__(file)
        self.archive, self.prefix, self.byteorder, self.source = archive, prefix, byteorder, source
        self.storages: dict[str, Storage] = {}

    def find_class(self, module: str, name: str):
        if (module, name) in ALLOWED:
            return ALLOWED[(module, name)]
        raise RefusedGlobal(f"{module}.{name}")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage" and isinstance(pid[1], StorageType)):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r:.80}")
        _, kind, key, _location, numel = pid
        key = str(key)
        if key not in self.storages:
            try:
                raw = self.archive.read(f"{self.prefix}data/{key}")
            except KeyError:
                raise pickle.UnpicklingError(f"storage {key} is missing from the archive") from None
            dtype = np.dtype(kind.dtype).newbyteorder("<" if self.byteorder == "little" else ">")
            if len(raw) < int(numel) * dtype.itemsize:
                raise pickle.UnpicklingError(f"storage {key} holds {len(raw)} bytes, fewer than {numel} elements")
            array = np.frombuffer(raw, dtype=dtype, count=int(numel))
            self.storages[key] = Storage(array, kind.name == "BFloat16Storage")
        return self.storages[key]


# a legacy torch.save file starts with its magic number, pickled with protocol 2
LEGACY_MAGIC = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"


class RefusedGlobal(pickle.UnpicklingError):
    """The pickle names a global that does not rebuild tensors."""


def refuse_compressed(archive: zipfile.ZipFile, path: Path, where: str) -> None:
    """A ConfigError for the first compressed entry: its declared size is not bounded by the file's own size.

    ``torch.save`` writes every entry stored (uncompressed), so the storages' sizes are at most the
    file's size and the budget below holds; a deflated 9 MB entry may declare (and inflate to) gigabytes."""
    for info in archive.infolist():
        if info.compress_type != zipfile.ZIP_STORED:
            raise ConfigError(where, f"{path}: the entry {info.filename} is compressed ({_size(info.compress_size)} "
                              f"that would inflate to {_size(info.file_size)}); torch.save never compresses, so it "
                              "is refused before anything is inflated",
                              expected="a file written by torch.save (re-save it: torch.save(torch.load(path, "
                              "map_location='cpu'), 'w.pth'))")


def load_torch_file(path: str | Path, where: str = "init_from") -> dict[str, Any]:
    """The object saved in ``path`` (usually a state_dict) with numpy arrays for tensors."""
    path = Path(path)
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as f:
            legacy = f.read(len(LEGACY_MAGIC)) == LEGACY_MAGIC
        what = ("written by torch.save in torch's legacy format (_use_new_zipfile_serialization=False, possible "
                "with any torch version, also 2.x)" if legacy else "not a torch.save file (neither zip nor legacy)")
        raise ConfigError(where, f"{path} is not a zip-format torch.save file: it is {what}",
                          expected="a file in torch's default zip format; re-save it with: sd = torch.load(path, "
                                   "map_location='cpu'); torch.save(sd, 'w.pth') (no other arguments), or export "
                                   "it as safetensors: safetensors.torch.save_file(sd, 'w.safetensors')")
    with zipfile.ZipFile(path) as archive:
        refuse_compressed(archive, path, where)   # a zip bomb never inflates: torch.save stores, never compresses
        pickles = [n for n in archive.namelist() if n.endswith("data.pkl") and n.count("/") == 1]
        if len(pickles) != 1:
            raise ConfigError(where, f"{path} has no ARCHIVE/data.pkl record", expected="a torch.save file")
        prefix = pickles[0][: -len("data.pkl")]
        names = set(archive.namelist())
        byteorder = archive.read(prefix + "byteorder").decode().strip() if prefix + "byteorder" in names else "little"
        stored = sum(i.file_size for i in archive.infolist() if i.filename.startswith(prefix + "data/"))
        with archive.open(pickles[0]) as file:
            try:
                obj = TensorUnpickler(file, archive, prefix, byteorder, str(path)).load()
                return materialise(obj, max(MIN_BUDGET, AMPLIFICATION * stored), where, path, stored)
            except RefusedGlobal as err:
                raise ConfigError(where, f"refused to load {path}: its pickle names the global '{err}', which does "
                                  "not rebuild tensors (nothing in the file was run)",
                                  expected="a state_dict of tensors (torch.save(model.state_dict(), PATH))") from None
            except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as err:
                raise ConfigError(where, f"cannot read {path}: {err}", expected="a torch.save file") from None
