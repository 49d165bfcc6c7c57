"""CIFAR-10 and CIFAR-100, binary version, via ``Cifar10Dataset`` / ``Cifar100Dataset``.

    dataset: {type: cifar10, path: data/cifar-10-batches-bin}            # data_batch_*.bin, test_batch.bin
    dataset: {type: cifar100, path: data/cifar-100-binary, label: fine}  # train.bin, test.bin

``usage`` is train/test/all (default: train for the train split, test for eval).
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal, Optional

import mindspore.dataset as ds

from mm_train.data.sharding import sampler_arguments
from mm_train.core.errors import ConfigError
from mm_train.registry import DATASETS

IMAGE_BYTES = 32 * 32 * 3
# name -> (label bytes, {usage: [(pattern, records per file)]}, download hint)
LAYOUTS = {
    "cifar10": (1, {"train": [("data_batch_*.bin", 10_000)], "test": [("test_batch.bin", 10_000)]},
                "the cifar-10-batches-bin folder (mm-train data download cifar10 --dest DIR)"),
    "cifar100": (2, {"train": [("train.bin", 50_000)], "test": [("test.bin", 10_000)]},
                 "the cifar-100-binary folder (mm-train data download cifar100 --dest DIR)"),
}


def check_folder(path: str, usage: str, where: str, name: str = "cifar10") -> None:
    """Stop early with a message when the folder is not a complete CIFAR binary set."""
    label_bytes, layout, hint = LAYOUTS[name]
    folder = Path(path)
    if usage not in ("train", "test", "all"):
        raise ConfigError(f"{where}.usage", f"got {usage!r}", expected="one of ['train', 'test', 'all']")
    if not folder.is_dir():
        from mm_train.data.paths import tried
        raise ConfigError(f"{where}.path", f"folder not found: {tried(folder)}", expected=hint)
    parts = layout["train"] + layout["test"] if usage == "all" else layout[usage]
    files = [(f, count) for pattern, count in parts for f in sorted(folder.glob(pattern))]
    if not files:
        raise ConfigError(f"{where}.path", f"no {name.upper().replace('CIFAR', 'CIFAR-')} {usage} files in {folder}",
                          expected=" and ".join(p for p, _ in parts) + f" ({hint})")
    record = label_bytes + IMAGE_BYTES
    for f, count in files:
        if f.stat().st_size != record * count:
            raise ConfigError(f"{where}.path", f"{f} has {f.stat().st_size} bytes",
                              expected=f"{count} records of {record} bytes ({record * count} bytes): "
                                       "the file is truncated or not the binary version of "
                                       + name.upper().replace("CIFAR", "CIFAR-"))


@DATASETS.register("cifar10")
def cifar10(split, shuffle, num_shards, shard_id, num_samples, num_parallel_workers,
            path: str, usage: Optional[Literal["train", "test", "all"]] = None):
    """CIFAR-10 from ``path``; ``usage`` is train/test/all (default: train for the train split, else test)."""
    usage = usage or ("train" if split == "train" else "test")
    check_folder(path, usage, "dataset")
    data = ds.Cifar10Dataset(str(path), usage=usage, num_parallel_workers=num_parallel_workers,
                             **sampler_arguments(num_shards, shard_id, shuffle, num_samples))
    return data, []


@DATASETS.register("cifar100")
def cifar100(split, shuffle, num_shards, shard_id, num_samples, num_parallel_workers,
             path: str, usage: Optional[Literal["train", "test", "all"]] = None,
             label: Literal["fine", "coarse"] = "fine"):
    """CIFAR-100 from ``path``; ``label`` is fine (100 classes) or coarse (20 superclasses)."""
    usage = usage or ("train" if split == "train" else "test")
    if label not in ("fine", "coarse"):
        raise ConfigError("dataset.label", f"got {label!r}", expected="fine or coarse")
    check_folder(path, usage, "dataset", "cifar100")
    data = ds.Cifar100Dataset(str(path), usage=usage, num_parallel_workers=num_parallel_workers,
                              **sampler_arguments(num_shards, shard_id, shuffle, num_samples))
    data = data.project(["image", f"{label}_label"]).rename([f"{label}_label"], ["label"])
    return data, []
