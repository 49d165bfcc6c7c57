"""MindSpore's own MindRecord format, via ``MindDataset``.

The recipe names the file(s) and which columns hold the image and the label;
``decode: true`` decodes encoded (JPEG/PNG) image bytes::

    dataset:
      type: mindrecord
      columns: {image: data, label: label}
      decode: true
      train: {path: train.mindrecord}
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Optional

import mindspore.dataset as ds
import mindspore.dataset.vision as vision

from mm_train.argtypes import Paths
from mm_train.errors import ConfigError
from mm_train.registry import DATASETS


@DATASETS.register("mindrecord")
def mindrecord(split, shuffle, num_shards, shard_id, num_samples, num_parallel_workers,
               path: Paths, columns: Optional[Mapping[str, str]] = None, decode: bool = True):
    files = [str(p) for p in ([path] if isinstance(path, str) else path)]
    for f in files:
        if not Path(f).is_file():
            raise ConfigError(f"dataset.{split}.path", f"file not found: {f}", expected="a .mindrecord file")
        if not Path(f + ".db").is_file():
            raise ConfigError(f"dataset.{split}.path", f"index file not found: {f}.db",
                              expected="the .db index MindRecord writes beside each data file")
    columns = dict(columns or {"image": "image", "label": "label"})
    if set(columns) != {"image", "label"} or not all(isinstance(v, str) for v in columns.values()):
        raise ConfigError("dataset.columns", f"got {columns!r}",
                          expected="{image: COLUMN, label: COLUMN} naming the file's image and label columns")
    data = ds.MindDataset(files if len(files) > 1 else files[0],
                          columns_list=[columns["image"], columns["label"]], shuffle=shuffle,
                          num_shards=num_shards, shard_id=shard_id, num_samples=num_samples,
                          num_parallel_workers=num_parallel_workers)
    if columns["image"] != "image" or columns["label"] != "label":
        data = data.rename([columns["image"], columns["label"]], ["image", "label"])
    return data, [vision.Decode()] if decode else []
