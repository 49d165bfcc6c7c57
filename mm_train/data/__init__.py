"""Datasets from the ``dataset`` section of a recipe.

    dataset:
      type: cifar10                    # a registered reader
      path: ${paths.data}/cifar-10-batches-bin
      num_classes: 10
      train: {batch_size: 32, shuffle: true, transforms: [{type: RandomHorizontalFlip}, ...]}
      eval:  {batch_size: 32}

Keys of ``dataset`` and of each split that are not pipeline settings are the
reader's own arguments (``path``, ``usage``, ``columns``...); a split's value wins.
Every reader yields the columns ``image`` and ``label``.
"""
from __future__ import annotations

from typing import Any, Mapping

from mm_train.registry import DATASETS, check_arguments
from mm_train.errors import ConfigError

DATASET_KEYS = {"type", "num_classes", "image_size", "train", "eval"}   # image_size: for interpolation
SPLIT_KEYS = {"batch_size", "shuffle", "drop_remainder", "num_parallel_workers", "limit",
              "transforms", "num_shards", "shard_id"}
SPLITS = {"train": {"shuffle": True, "drop_remainder": True},
          "eval": {"shuffle": False, "drop_remainder": False}}


def load_readers() -> None:
    from mm_train.data import cifar10, mindrecord  # noqa: F401  (registers the readers)


def reader_arguments(dataset: Mapping[str, Any], split: str) -> dict[str, Any]:
    split_cfg = dataset.get(split) or {}
    args = {k: v for k, v in dataset.items() if k not in DATASET_KEYS}
    args.update({k: v for k, v in split_cfg.items() if k not in SPLIT_KEYS})
    return args


def build_dataset(dataset: Mapping[str, Any], split: str, where: str = "dataset"):
    """The batched ``mindspore.dataset`` pipeline of one split (``train`` or ``eval``)."""
    import mindspore as ms
    import mindspore.dataset.transforms as T

    from mm_train.data.transforms import build_transforms

    load_readers()
    settings = {**SPLITS[split], "batch_size": 32, "num_parallel_workers": 1,
                "limit": None, "transforms": [], "num_shards": None, "shard_id": None}
    settings.update({k: v for k, v in (dataset.get(split) or {}).items() if k in SPLIT_KEYS})
    reader = DATASETS.get(dataset.get("type"), f"{where}.type")
    args = reader_arguments(dataset, split)
    common = dict(split=split, shuffle=bool(settings["shuffle"]), num_shards=settings["num_shards"],
                  shard_id=settings["shard_id"], num_samples=settings["limit"],
                  num_parallel_workers=int(settings["num_parallel_workers"]))
    check_arguments(reader, args, where, given=common)
    data, image_ops = reader(**common, **args)
    image_ops = list(image_ops) + build_transforms(settings["transforms"], f"{where}.{split}.transforms")
    workers = common["num_parallel_workers"]
    if image_ops:
        data = data.map(operations=image_ops, input_columns="image", num_parallel_workers=workers)
    data = data.map(operations=T.TypeCast(ms.int32), input_columns="label", num_parallel_workers=workers)
    data = data.batch(int(settings["batch_size"]), drop_remainder=bool(settings["drop_remainder"]))
    if data.get_dataset_size() == 0:
        raise ConfigError(f"{where}.{split}.batch_size",
                          f"batch size {settings['batch_size']} leaves no full batch in the {split} split",
                          expected="a batch size no larger than the split (or drop_remainder: false)")
    return data
