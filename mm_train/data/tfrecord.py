"""TFRecord files written by TensorFlow pipelines, via ``TFRecordDataset``.

The recipe declares the features as ``tf.io.parse_single_example`` would, and which of
them hold the image and the label; ``decode: true`` decodes encoded (JPEG/PNG) bytes::

    dataset:
      type: tfrecord
      features:                               # name in the file -> type (bytes|uint8|int64|float32), shape
        image/encoded: {type: bytes}
        image/class/label: {type: int64}      # shape [] (a scalar) unless given
      columns: {image: image/encoded, label: image/class/label}
      decode: true
      train: {path: data/train-*.tfrecord}    # a file, a glob or a list

Raw pixels stored as bytes are read with ``{type: uint8, shape: [32, 32, 3]}`` and ``decode: false``.
Shards are split by row (``shard_equal_rows=True``): equal, complete, disjoint in every epoch.
``limit: N`` reads the first ceil(N / num_shards) rows of each shard, in the files' order.

Every record is verified before training (``verify: true``, the default): the length and data
checksums (masked crc32c, as TensorFlow writes them) and the framing, so that a changed byte,
a bad header or a truncated file stops the run with one message naming the file and the record
index, instead of training on it (MindSpore's reader checks no checksum) or failing mid-epoch.
MindSpore reads the files in C++ without a hook, so this is one streaming pass in Python
over each file: one extra read of the data, measured at 7.5 us a record (0.075 s for 10,000
CIFAR PNG records, 26 MB in the page cache: 6% of one epoch with 1 worker, once per run;
``python bench/data.py --verify-only``). A file that passed is remembered by (path, size,
mtime) in ``$MM_TRAIN_CACHE_DIR`` (default ``~/.cache/mm_train``), so reruns pay only a
``stat``; a file changed in place gets a new mtime and is verified again.
``verify: false`` checks only the first record.
"""
from __future__ import annotations

import glob
import hashlib
import math
import os
from pathlib import Path
from typing import Any, Mapping, Optional

import mindspore as ms
import mindspore.dataset as ds
import mindspore.dataset.vision as vision

from mm_train.core.argtypes import Paths
from mm_train.data.tfrecord_io import TFRecordError, check_file, decode_example, read_records, verify_file
from mm_train.core.errors import ConfigError, closest
from mm_train.registry import DATASETS

TYPES = {"bytes": ms.uint8, "string": ms.uint8, "uint8": ms.uint8, "int64": ms.int64, "float32": ms.float32,
         "float": ms.float32}
FILE_KINDS = {"bytes": ("bytes",), "string": ("bytes",), "uint8": ("bytes",), "int64": ("int64",),
              "float32": ("float",), "float": ("float",)}


def resolve_files(path, where: str) -> list[str]:
    patterns = [path] if isinstance(path, str) else list(path or [])
    files: list[str] = []
    for pattern in patterns:
        pattern = str(pattern)
        found = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else ([pattern] if Path(pattern).exists() else [])
        if not found:
            from mm_train.data.paths import tried
            raise ConfigError(where, f"file not found: {tried(pattern)}",
                              expected="TFRecord file(s): a path, a glob or a list")
        files += found
    for f in files:
        if Path(f).is_dir():
            raise ConfigError(where, f"{f} is a folder", expected="TFRecord files (a glob such as DIR/*.tfrecord)")
        try:
            check_file(f)
        except TFRecordError as err:
            raise ConfigError(where, f"{f} is not a valid TFRecord file: {err}",
                              expected="records framed as length, masked crc32c, data, masked crc32c") from None
    return files


def cache_dir() -> Path:
    """Where verified-file markers go: ``$MM_TRAIN_CACHE_DIR``, else ``$XDG_CACHE_HOME/mm_train``."""
    if os.environ.get("MM_TRAIN_CACHE_DIR"):
        return Path(os.environ["MM_TRAIN_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mm_train"


def _marker(path: str) -> Path:
    st = os.stat(path)
    key = f"{os.path.realpath(path)}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}"
    return cache_dir() / "verified" / f"tfrecord-{hashlib.sha1(key.encode()).hexdigest()}"


def verify_files(files: list[str], where: str) -> None:
    """Check every record of ``files`` (framing, both checksums), once per (path, size, mtime).

    Example::

        verify_files(["data/train.tfrecord"], "dataset.train.path")
        # ConfigError: dataset.train.path: data/train.tfrecord is not a valid TFRecord file: record 100: ...
    """
    for f in files:
        marker = _marker(f)
        if marker.exists():
            continue
        try:
            verify_file(f)
        except TFRecordError as err:
            raise ConfigError(where, f"{f} is not a valid TFRecord file: {err}",
                              expected="records framed as length, masked crc32c, data, masked crc32c; "
                                       "rewrite or remove the file") from None
        try:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
        except OSError:          # a read-only home: verify again next time
            pass


def build_schema(features, where: str) -> ds.Schema:
    if not isinstance(features, dict) or not features:
        raise ConfigError(where, "no features declared",
                          expected="a mapping like {image/encoded: {type: bytes}, label: {type: int64}}")
    schema = ds.Schema()
    for name, spec in features.items():
        spec = spec or {}
        kind = spec.get("type")
        if kind not in TYPES:
            raise ConfigError(f"{where}.{name}.type", f"got {kind!r}", expected=f"one of {sorted(TYPES)}",
                              suggestions=closest(str(kind), TYPES))
        shape = spec.get("shape", None if kind in ("bytes", "string") else [])
        schema.add_column(name, de_type=TYPES[kind], shape=list(shape) if shape is not None else None)
    return schema


def check_features(first_file: str, features: dict, where: str) -> None:
    """Every declared feature must be in the first Example of the file, with a matching kind."""
    try:
        stored = decode_example(next(read_records(first_file, limit=1)))
    except TFRecordError as err:
        raise ConfigError(where, f"{first_file}: cannot parse the first tf.train.Example: {err}") from None
    for name, spec in features.items():
        if name not in stored:
            raise ConfigError(f"dataset.features.{name}", f"feature '{name}' is not in {first_file}",
                              expected=f"one of its features {sorted(stored)}", suggestions=closest(name, stored))
        kind = (spec or {}).get("type")
        if stored[name][0] not in FILE_KINDS[kind]:
            raise ConfigError(f"dataset.features.{name}.type", f"declared {kind}, but the file stores "
                              f"{stored[name][0]} values", expected=f"the type stored in {first_file}")


@DATASETS.register("tfrecord")
def tfrecord(split, shuffle, num_shards, shard_id, num_samples, num_parallel_workers,
             path: Paths, features: Mapping[str, Any], columns: Optional[Mapping[str, str]] = None,
             decode: bool = True, verify: bool = True):
    files = resolve_files(path, f"dataset.{split}.path")
    if verify:
        verify_files(files, f"dataset.{split}.path")
    columns = dict(columns or {"image": "image", "label": "label"})
    schema = build_schema(features, "dataset.features")
    for role in ("image", "label"):
        if columns.get(role) not in features:
            raise ConfigError(f"dataset.columns.{role}", f"'{columns.get(role)}' is not a declared feature",
                              expected=f"one of dataset.features {sorted(features)}",
                              suggestions=closest(str(columns.get(role)), features))
    check_features(files[0], features, f"dataset.{split}.path")
    schema = build_schema({columns["image"]: features[columns["image"]],
                           columns["label"]: features[columns["label"]]}, "dataset.features")
    shards = {"num_shards": num_shards, "shard_id": shard_id, "shard_equal_rows": True} if num_shards else {}
    data = ds.TFRecordDataset(files, schema=schema, num_parallel_workers=num_parallel_workers,
                              shuffle=ds.Shuffle.GLOBAL if shuffle and num_samples is None else False, **shards)
    if num_samples is not None:
        per_shard = math.ceil(int(num_samples) / (num_shards or 1))
        data = data.take(per_shard)
        if shuffle:
            data = data.shuffle(per_shard)
    renames = [(columns[role], role) for role in ("image", "label") if columns[role] != role]
    if renames:
        data = data.rename([old for old, _ in renames], [new for _, new in renames])
    return data, [vision.Decode()] if decode else []
