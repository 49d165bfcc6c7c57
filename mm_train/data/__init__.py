"""Datasets from the ``dataset`` section of a recipe.

    dataset:
      type: cifar10                    # a registered reader: cifar10, cifar100, mindrecord, tfrecord, image_folder
      path: ${paths.data}/cifar-10-batches-bin
      num_classes: 10
      one_hot: false                   # true: labels become float32 one-hot rows (for sparse: false losses)
      train: {batch_size: 32, shuffle: true, num_parallel_workers: auto, drop_remainder: true, limit: null,
              num_shards: null, shard_id: null,       # null: the distributed rank (train split only; see sharding.py)
              transforms: [{type: RandomHorizontalFlip}, ...],
              batch_transforms: [{type: MixUpCutMix, mixup_alpha: 0.2, cutmix_alpha: 1.0}]}   # needs one_hot: true
      eval:  {batch_size: 32}
      fuse_decode: crop                # train: Decode + RandomResizedCrop -> one op (decode_fusion.py): crop | scaled | false
    loss: {type: SoftmaxCrossEntropyWithLogits, sparse: false}   # with one_hot: true (soft labels)

Keys of ``dataset`` and of each split that are not pipeline settings are the
reader's own arguments (``path``, ``usage``, ``columns``...); a split's value wins.
Every reader yields the columns ``image`` and ``label``.
"""
from __future__ import annotations

import inspect
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal, Mapping, Optional, Union

from mm_train.core.argtypes import NonNegativeInt, PositiveInt, Workers, hints, type_problem
from mm_train.registry import DATASETS
from mm_train.core.errors import ConfigError

DATASET_KEYS = {"type", "num_classes", "image_size", "one_hot", "train", "eval",
                "classes",   # image_size: for interpolation; classes: label names (task=predict)
                "fuse_decode"}   # crop | scaled | false: Decode + RandomResizedCrop fused or kept (data/decode_fusion.py)


@dataclass
class SplitSettings:
    """The pipeline settings of one split (``dataset.train``, ``dataset.eval``) with their defaults, the one
    place they are written; the other keys of a split are the reader's own arguments.

        SplitSettings.batch_size                        # 32, the default batch size
        SplitSettings.of({"train": {"limit": 64}}, "train").shuffle   # True: the train split shuffles
    """
    batch_size: PositiveInt = 32
    shuffle: bool = False                  # train: true (SPLITS)
    drop_remainder: bool = False           # train: true (SPLITS)
    num_parallel_workers: Union[Workers, Literal["auto"]] = "auto"   # auto: the cores (data/workers.py)
    limit: Optional[PositiveInt] = None
    num_shards: Optional[PositiveInt] = None   # null: the distributed rank (train split only; sharding.py)
    shard_id: Optional[NonNegativeInt] = None
    repeated_aug: Optional[Union[PositiveInt, Mapping]] = None   # mm_train.data.samplers
    transforms: list = field(default_factory=list)
    batch_transforms: list = field(default_factory=list)

    @classmethod
    def of(cls, dataset: Mapping[str, Any], split: str) -> "SplitSettings":
        """The settings ``dataset[split]`` gives, defaults filled in (not checked: :func:`split_setting_errors`)."""
        given = {k: v for k, v in (dataset.get(split) or {}).items() if k in SPLIT_KEYS}
        return cls(**{**SPLITS[split], **given})


SPLIT_KEYS = {f.name for f in fields(SplitSettings)}
SPLITS = {"train": {"shuffle": True, "drop_remainder": True},      # where the two splits' defaults differ
          "eval": {"shuffle": False, "drop_remainder": False}}
_CHECKED = ("batch_size", "limit", "num_parallel_workers", "shuffle", "drop_remainder", "num_shards", "shard_id",
            "repeated_aug")   # the settings with a type (transforms: mm_train.data.transforms)


def batch_size(dataset: Mapping[str, Any], split: str = "train") -> int:
    """The batch size of ``dataset[split]``, the default when unset."""
    return int((dataset.get(split) or {}).get("batch_size", SplitSettings.batch_size))


def split_setting_errors(cfg: Mapping[str, Any], where: str) -> list[ConfigError]:
    """``num_parallel_workers: 0``, ``batch_size: 2**63``, ``shuffle: abc``: each with its key path."""
    types = hints(SplitSettings)
    return [ConfigError(f"{where}.{key}", f"got {cfg[key]!r}", expected=expected)
            for key in _CHECKED if key in cfg and (expected := type_problem(cfg[key], types[key]))]


BATCH_ONLY = {"MixUpBatch", "CutMixBatch", "MixUpCutMix"}


def reader_arguments(dataset: Mapping[str, Any], split: str) -> dict[str, Any]:
    split_cfg = dataset.get(split) or {}
    args = {k: v for k, v in dataset.items() if k not in DATASET_KEYS}
    args.update({k: v for k, v in split_cfg.items() if k not in SPLIT_KEYS})
    return args


def split_settings(dataset: Mapping[str, Any], split: str) -> dict[str, Any]:
    """The pipeline settings of one split, defaults filled in, ``num_parallel_workers: auto`` resolved.

    Validation has checked them (:func:`split_setting_errors`, once), a debug mode's limits included.
    """
    from mm_train.data.workers import resolve_workers
    settings = asdict(SplitSettings.of(dataset, split))
    settings["num_parallel_workers"] = resolve_workers(settings["num_parallel_workers"])   # auto: the cores
    return settings


def _check_transform_lists(settings, one_hot: bool, where: str) -> None:
    for i, spec in enumerate(settings["transforms"] or []):
        if isinstance(spec, Mapping) and spec.get("type") in BATCH_ONLY:
            raise ConfigError(f"{where}.transforms[{i}]", f"{spec['type']} works on whole batches",
                              expected=f"it under {where}.batch_transforms (with dataset.one_hot: true)")
    if settings["batch_transforms"] and not one_hot:
        raise ConfigError(f"{where}.batch_transforms", "MixUpCutMix / MixUpBatch / CutMixBatch need one-hot labels",
                          expected="dataset.one_hot: true (and a loss with sparse: false)")


def build_dataset(dataset: Mapping[str, Any], split: str, where: str = "dataset"):
    """The batched ``mindspore.dataset`` pipeline of one split (``train`` or ``eval``).

    Example::

        data = build_dataset({"type": "cifar10", "path": "data/cifar-10-batches-bin",
                              "train": {"batch_size": 32}}, "train")
    """
    import mindspore as ms
    import mindspore.dataset.transforms as T

    from mm_train.data.checks import guards
    from mm_train.data.decode_fusion import fuse_decode, fusion_mode
    from mm_train.data.sharding import shard_for
    from mm_train.data.transforms import build_transforms

    settings = split_settings(dataset, split)
    fusion = fusion_mode(dataset.get("fuse_decode", True), f"{where}.fuse_decode")
    one_hot = bool(dataset.get("one_hot", False))
    _check_transform_lists(settings, one_hot, f"{where}.{split}")
    num_shards, shard_id = shard_for(dataset.get(split), f"{where}.{split}", automatic=split == "train")
    common = dict(split=split, shuffle=bool(settings["shuffle"]),
                  num_shards=num_shards if num_shards > 1 else None,
                  shard_id=shard_id if num_shards > 1 else None, num_samples=settings["limit"],
                  num_parallel_workers=int(settings["num_parallel_workers"]))
    reader = DATASETS.get(dataset.get("type"), f"{where}.type")
    takes = inspect.signature(reader).parameters
    if "train_args" in takes:   # image_folder: the train split's class list
        common["train_args"] = reader_arguments(dataset, "train")
    if "keys" in takes:   # the keys its path and usage come from, for its messages
        from mm_train.data.paths import path_key
        common["keys"] = {name: path_key(dataset, split, name, where) for name in ("path", "usage")}
    if "classes" in takes and dataset.get("classes") is not None:   # dataset.classes: the label names, in order
        common["classes"] = dataset["classes"]
    repeated = settings["repeated_aug"]
    if repeated:   # the repeated-augmentation sampler replaces the reader's (mm_train.data.samplers)
        from mm_train.data.samplers import RepeatedAugSampler, parse
        repeated = parse(repeated, f"{where}.{split}.repeated_aug")
        common.update(shuffle=False, num_shards=None, shard_id=None, num_samples=None)
    reader_spec = {"type": dataset.get("type"), **reader_arguments(dataset, split)}
    data, image_ops = DATASETS.build(reader_spec, where, **common)
    if repeated:
        if type(data).__name__ in ("MindDataset", "TFRecordDataset"):
            raise ConfigError(f"{where}.{split}.repeated_aug", f"the {dataset.get('type')} reader takes no Python "
                              "sampler in MindSpore 2.10", expected="a cifar10, cifar100 or image_folder data set "
                              "(mm-train data convert writes image folders too), or no repeated_aug")
        data.use_sampler(RepeatedAugSampler(repeated["repeats"], num_shards, shard_id, bool(settings["shuffle"]),
                                            repeated["selected_round"], settings["limit"]))
    specs, fused = settings["transforms"], False
    if split == "train" and fusion:
        image_ops, specs, fused = fuse_decode(image_ops, specs, f"{where}.{split}.transforms", fusion)
    image_ops = list(image_ops) + build_transforms(specs, f"{where}.{split}.transforms")
    workers = common["num_parallel_workers"]
    if image_ops:
        data = data.map(operations=image_ops, input_columns="image", num_parallel_workers=workers)
    label_guard, batch_guard = guards(dataset, split, where, reader_arguments(dataset, split),
                                     reader_arguments(dataset, "train"))
    if label_guard is not None:   # before OneHot: an out-of-range label would become a row of zeros
        data = data.map(operations=[label_guard], input_columns="label", num_parallel_workers=workers)
    if one_hot:
        classes = dataset.get("num_classes")
        if not isinstance(classes, int) or classes < 2:
            raise ConfigError(f"{where}.num_classes", f"got {classes!r}",
                              expected="the number of classes (one_hot: true needs it)")
        label_ops = [T.OneHot(classes), T.TypeCast(ms.float32)]
    else:
        label_ops = [T.TypeCast(ms.int32)]
    data = data.map(operations=label_ops, input_columns="label", num_parallel_workers=workers)
    data = data.batch(int(settings["batch_size"]), drop_remainder=bool(settings["drop_remainder"]))
    data = data.map(operations=[batch_guard], input_columns=["image", "label"], num_parallel_workers=1)
    batch_ops = build_transforms(settings["batch_transforms"], f"{where}.{split}.batch_transforms")
    if batch_ops:
        data = data.map(operations=batch_ops, input_columns=["image", "label"], num_parallel_workers=workers)
    if data.get_dataset_size() == 0:
        raise ConfigError(f"{where}.{split}.batch_size",
                          f"batch size {settings['batch_size']} leaves no full batch in the {split} split",
                          expected="a batch size no larger than the split (or drop_remainder: false)")
    data.pipeline_record = {"fused_decode": fused, "workers": workers}   # run_info.json's data_pipeline
    return data
