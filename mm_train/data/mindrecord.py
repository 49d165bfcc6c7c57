"""MindSpore's own MindRecord format, via ``MindDataset``.

The recipe names the file(s) and which columns hold the image and the label;
``decode: true`` decodes encoded (JPEG/PNG) image bytes::

    dataset:
      type: mindrecord
      columns: {image: data, label: label}
      decode: true
      train: {path: train.mindrecord0}      # one file of a set written with shard_num > 1 loads the set

``mm-train data convert`` writes such files from CIFAR-10, image folders and TFRecord.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Optional

import mindspore.dataset as ds
import mindspore.dataset.vision as vision

from mm_train.core.argtypes import Paths
from mm_train.data.sharding import sampler_arguments
from mm_train.core.errors import ConfigError, closest
from mm_train.registry import DATASETS


def file_columns(path: str, where: str) -> dict:
    """The schema (column -> type) stored in a MindRecord file; ConfigError when it is not one."""
    from mindspore.mindrecord import FileReader
    try:
        reader = FileReader(path)
    except Exception as err:  # MindSpore raises RuntimeError / MRMOpenError / ParamValueError
        raise ConfigError(where, f"{path} is not a readable MindRecord file: {str(err).splitlines()[0]}",
                          expected="a file written by mindspore.mindrecord.FileWriter (mm-train data convert)") \
            from None
    try:
        return reader.schema()
    finally:
        reader.close()


@DATASETS.register("mindrecord")
def mindrecord(split, shuffle, num_shards, shard_id, num_samples, num_parallel_workers,
               path: Paths, columns: Optional[Mapping[str, str]] = None, decode: bool = True):
    where = f"dataset.{split}.path"
    files = [str(p) for p in ([path] if isinstance(path, str) else path)]
    for f in files:
        if not Path(f).is_file():
            from mm_train.data.paths import tried
            raise ConfigError(where, f"file not found: {tried(f)}", expected="a .mindrecord file")
        if not Path(f + ".db").is_file():
            raise ConfigError(where, f"index file not found: {f}.db",
                              expected="the .db index MindRecord writes beside each data file")
    schema = file_columns(files[0], where)
    columns = dict(columns or {"image": "image", "label": "label"})
    if set(columns) != {"image", "label"} or not all(isinstance(v, str) for v in columns.values()):
        raise ConfigError("dataset.columns", f"got {columns!r}",
                          expected="{image: COLUMN, label: COLUMN} naming the file's image and label columns")
    for role in ("image", "label"):
        name = columns.get(role)
        if name not in schema:
            raise ConfigError(f"dataset.columns.{role}", f"column '{name}' is not in {files[0]}",
                              expected=f"one of its columns {sorted(schema)}", suggestions=closest(str(name), schema))
    data = ds.MindDataset(files if len(files) > 1 else files[0],
                          columns_list=[columns["image"], columns["label"]],
                          num_parallel_workers=num_parallel_workers,
                          **sampler_arguments(num_shards, shard_id, shuffle, num_samples))
    renames = [(columns[role], role) for role in ("image", "label") if columns[role] != role]
    if renames:
        data = data.rename([old for old, _ in renames], [new for _, new in renames])
    return data, [vision.Decode()] if decode else []
