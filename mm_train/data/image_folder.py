"""ImageNet-style image folders, via ``ImageFolderDataset``::

    root/train/<class>/*.jpg|jpeg|png
    root/val/<class>/*.jpg|jpeg|png

    dataset: {type: image_folder, path: data/flowers}     # usage: train (train split) / val (eval split)

Classes are indexed by their sorted folder names (the same for every split).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import mindspore.dataset as ds
import mindspore.dataset.vision as vision

from mm_train.data.sharding import sampler_arguments
from mm_train.errors import ConfigError
from mm_train.registry import DATASETS

EXTENSIONS = (".jpg", ".jpeg", ".png")


def image_files(folder: Path) -> list[Path]:
    return sorted(f for f in folder.iterdir() if f.is_file() and f.suffix.lower() in EXTENSIONS)


def has_image(folder: Path) -> bool:
    """Whether ``folder`` holds an image file; stops at the first (no stat of every file)."""
    with os.scandir(folder) as entries:
        return any(os.path.splitext(e.name)[1].lower() in EXTENSIONS and e.is_file() for e in entries)


def check_folder(root: Path, usage: str, where: str) -> dict[str, int]:
    """The class index of ``root/usage``; ConfigError when it is not an image-folder layout."""
    folder = root / usage
    if not root.is_dir():
        raise ConfigError(f"{where}.path", f"folder not found: {root}",
                          expected="a folder with one sub-folder per split (train/, val/), each with one per class")
    if not folder.is_dir():
        have = sorted(p.name for p in root.iterdir() if p.is_dir())
        raise ConfigError(f"{where}.usage", f"folder not found: {folder}",
                          expected=f"a split folder of {root}: one of {have}" if have
                          else f"{root}/{usage}/<class>/*.jpg (ImageNet-style layout)")
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir())
    if not classes:
        stray = [f.name for f in folder.iterdir() if f.is_file()][:3]
        raise ConfigError(f"{where}.path", f"{folder} has no class sub-folders"
                          + (f" (found files such as {stray})" if stray else ""),
                          expected=f"{folder}/<class>/*.jpg|jpeg|png, one sub-folder per class")
    empty = [c for c in classes if not has_image(folder / c)]
    if empty:
        raise ConfigError(f"{where}.path", f"class folders without images in {folder}: {empty[:5]}",
                          expected="at least one .jpg, .jpeg or .png file in each class folder")
    return {name: i for i, name in enumerate(classes)}


@DATASETS.register("image_folder")
def image_folder(split, shuffle, num_shards, shard_id, num_samples, num_parallel_workers,
                 path: str, usage: Optional[str] = None):
    """Images under ``path/usage/<class>/``; ``usage`` defaults to train (train split) and val (eval split)."""
    usage = usage or ("train" if split == "train" else "val")
    class_indexing = check_folder(Path(path), usage, "dataset")
    extensions = sorted({e for ext in EXTENSIONS for e in (ext, ext.upper())})
    data = ds.ImageFolderDataset(str(Path(path) / usage), extensions=extensions, class_indexing=class_indexing,
                                 num_parallel_workers=num_parallel_workers,
                                 **sampler_arguments(num_shards, shard_id, shuffle, num_samples))
    return data, [vision.Decode()]
