"""CIFAR-10, binary version (``data_batch_*.bin``, ``test_batch.bin``), via ``Cifar10Dataset``."""
from __future__ import annotations

from pathlib import Path
from typing import Literal, Optional

import mindspore.dataset as ds

from mm_train.errors import ConfigError
from mm_train.registry import DATASETS

RECORD_BYTES = 1 + 32 * 32 * 3
RECORDS_PER_FILE = 10_000


def check_folder(path: str, usage: str, where: str) -> None:
    """Stop early with a message when the folder is not a complete CIFAR-10 binary set."""
    folder = Path(path)
    if not folder.is_dir():
        raise ConfigError(f"{where}.path", f"folder not found: {folder}",
                          expected="the cifar-10-batches-bin folder (mm-train data download cifar10)")
    patterns = {"train": ["data_batch_*.bin"], "test": ["test_batch.bin"],
                "all": ["data_batch_*.bin", "test_batch.bin"]}[usage]
    files = [f for pattern in patterns for f in sorted(folder.glob(pattern))]
    if not files:
        raise ConfigError(f"{where}.path", f"no CIFAR-10 {usage} files in {folder}",
                          expected=" and ".join(patterns) + " (the binary version of CIFAR-10)")
    for f in files:
        if f.stat().st_size != RECORD_BYTES * RECORDS_PER_FILE:
            raise ConfigError(f"{where}.path", f"{f} has {f.stat().st_size} bytes",
                              expected=f"{RECORDS_PER_FILE} records of {RECORD_BYTES} bytes "
                                       f"({RECORD_BYTES * RECORDS_PER_FILE} bytes): the file is truncated or not CIFAR-10")


@DATASETS.register("cifar10")
def cifar10(split, shuffle, num_shards, shard_id, num_samples, num_parallel_workers,
            path: str, usage: Optional[Literal["train", "test", "all"]] = None):
    """CIFAR-10 from ``path``; ``usage`` is train/test/all (default: train for the train split, else test)."""
    usage = usage or ("train" if split == "train" else "test")
    check_folder(path, usage, "dataset")
    data = ds.Cifar10Dataset(str(path), usage=usage, shuffle=shuffle, num_samples=num_samples,
                             num_shards=num_shards, shard_id=shard_id,
                             num_parallel_workers=num_parallel_workers)
    return data, []
