"""ImageNet-style image folders, via ``ImageFolderDataset``::

    root/train/<class>/*.jpg|jpeg|png
    root/val/<class>/*.jpg|jpeg|png

    dataset: {type: image_folder, path: data/flowers}     # usage: train (train split) / val (eval split)

The class list is the train split's sorted folder names (or ``dataset.classes: [cat, dog]``),
and every split maps its folder names through it: a ``val/`` without some class keeps the
labels of the others; a class folder unknown to the train split is an error. (Without a
``train/`` folder, a split is indexed by its own sorted folder names.)

Each image's first bytes are checked before training (a JPEG or PNG signature): a text
file or an HTML page named .jpg is named up front, for about 17 us an image (0.19 s for 10,000
PNGs, 13% of one epoch with 1 worker, once per run: ``python bench/data.py --verify-only``).
``verify: false`` skips it.
A truncated image is found while decoding, and reported naming the file (data/failures.py).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import mindspore.dataset as ds
import mindspore.dataset.vision as vision

from mm_train.data.sharding import sampler_arguments
from mm_train.core.errors import ConfigError, closest
from mm_train.registry import DATASETS

EXTENSIONS = (".jpg", ".jpeg", ".png")


def image_files(folder: Path) -> list[Path]:
    return sorted(f for f in folder.iterdir() if f.is_file() and f.suffix.lower() in EXTENSIONS)


def has_image(folder: Path) -> bool:
    """Whether ``folder`` holds an image file; stops at the first (no stat of every file)."""
    with os.scandir(folder) as entries:
        return any(os.path.splitext(e.name)[1].lower() in EXTENSIONS and e.is_file() for e in entries)


def check_folder(root: Path, usage: str, where: str, keys: Optional[Mapping[str, str]] = None) -> dict[str, int]:
    """The class index of ``root/usage``; ConfigError when it is not an image-folder layout.

    ``keys``: the keys ``path`` and ``usage`` come from (default ``WHERE.path``, ``WHERE.usage``)."""
    from mm_train.data.paths import tried
    path_key, usage_key = (keys or {}).get("path", f"{where}.path"), (keys or {}).get("usage", f"{where}.usage")
    folder = root / usage
    if not root.is_dir():
        raise ConfigError(path_key, f"folder not found: {tried(root)}",
                          expected="a folder with one sub-folder per split (train/, val/), each with one per class")
    if not folder.is_dir():
        have = sorted(p.name for p in root.iterdir() if p.is_dir())
        raise ConfigError(path_key, f"folder not found: {tried(folder)} (the '{usage}' split of {root})",
                          expected=f"{path_key} naming the folder that holds {usage}/<class>/*.jpg, or {usage_key} "
                                   f"one of its split folders {have}" if have
                          else f"{root}/{usage}/<class>/*.jpg (ImageNet-style layout)")
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir())
    if not classes:
        stray = [f.name for f in folder.iterdir() if f.is_file()][:3]
        raise ConfigError(path_key, f"{folder} has no class sub-folders"
                          + (f" (found files such as {stray})" if stray else ""),
                          expected=f"{folder}/<class>/*.jpg|jpeg|png, one sub-folder per class")
    empty = [c for c in classes if not has_image(folder / c)]
    if empty:
        raise ConfigError(path_key, f"class folders without images in {folder}: {empty[:5]}",
                          expected="at least one .jpg, .jpeg or .png file in each class folder")
    return {name: i for i, name in enumerate(classes)}


SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")     # JPEG, PNG


def check_images(folder: Path, where: str) -> None:
    """Every image file under ``folder/<class>/`` must start like a JPEG or PNG file.

    Example::

        check_images(Path("data/flowers/train"), "dataset.path")   # ConfigError naming a bad file
    """
    from mm_train.data.exif import exif_orientation
    rotated, jpegs = [], 0
    for class_folder in sorted(p for p in folder.iterdir() if p.is_dir()):
        with os.scandir(class_folder) as entries:
            files = [e.path for e in entries if os.path.splitext(e.name)[1].lower() in EXTENSIONS and e.is_file()]
        for f in sorted(files):
            fd = os.open(f, os.O_RDONLY)      # os.open/os.read: a third of open()'s cost per file
            try:
                head = os.read(fd, 1024)      # the signature and a camera's EXIF header
            finally:
                os.close(fd)
            if not head.startswith(SIGNATURES):
                kind = "is empty" if not head else f"does not start like a JPEG or PNG file (its first bytes: {head[:8]!r})"
                raise ConfigError(where, f"{f} {kind}", expected="JPEG or PNG images (remove or replace the file)")
            if head.startswith(SIGNATURES[0]):
                jpegs += 1
                if (orientation := exif_orientation(head)) not in (None, 1):
                    rotated.append((f, orientation))
    if rotated:   # said once per folder: MindSpore's Decode, like OpenCV's imdecode flags, ignores EXIF
        print(f"note: {len(rotated)} of {jpegs} JPEG images in {folder} carry an EXIF orientation (e.g. "
              f"{rotated[0][0]}: orientation {rotated[0][1]}); they are decoded as stored, NOT rotated. If the "
              "orientation matters, rotate the files once (PIL.ImageOps.exif_transpose) before training", flush=True)


def class_index(root: Path, usage: str, where: str, classes: Optional[Sequence[str]] = None,
                train_usage: str = "train", keys: Optional[Mapping[str, str]] = None) -> dict[str, int]:
    """``{folder name: label}`` of the split ``root/usage``, labels from the train split's class list.

    Example::

        class_index(Path("data/flowers"), "val", "dataset")   # {"daisy": 0, "rose": 2} if val has no "dandelion"
    """
    names = list(check_folder(root, usage, where, keys))
    if classes is not None:
        if (not isinstance(classes, (list, tuple)) or not classes or len(set(map(str, classes))) != len(classes)):
            raise ConfigError(f"{where}.classes", f"got {classes!r}", expected="a list of distinct class folder names")
        known, source = [str(c) for c in classes], f"{where}.classes"
    elif usage != train_usage and (root / train_usage).is_dir():
        known, source = list(check_folder(root, train_usage, where, keys)), f"the train split {root / train_usage}"
    else:
        known, source = names, None
    for name in names:
        if name not in known:
            raise ConfigError(f"{where}.path", f"{root / usage} has the class folder '{name}', "
                              f"which is not a class of {source}",
                              expected=f"class folders among {known[:10]}" + (" ..." if len(known) > 10 else "")
                              + f" (or list every class in {where}.classes)", suggestions=closest(name, known, n=1))
    return {name: known.index(name) for name in names}


@DATASETS.register("image_folder")
def image_folder(split, shuffle, num_shards, shard_id, num_samples, num_parallel_workers,
                 path: str, usage: Optional[str] = None, classes: Optional[list] = None,
                 verify: bool = True, train_args: Optional[Mapping[str, Any]] = None,
                 keys: Optional[Mapping[str, str]] = None):
    """Images under ``path/usage/<class>/``; ``usage`` defaults to train (train split) and val (eval split).

    ``classes``: the class list (default: the train split's sorted folder names); ``verify: false``
    skips the up-front signature check of every image; ``train_args``: the train split's reader
    arguments (given by build_dataset, for its ``usage``); ``keys``: the keys ``path`` and ``usage``
    come from (for messages).
    """
    usage = usage or ("train" if split == "train" else "val")
    train_usage = usage if split == "train" else ((train_args or {}).get("usage") or "train")
    class_indexing = class_index(Path(path), usage, "dataset", classes, train_usage, keys)
    if verify:
        check_images(Path(path) / usage, (keys or {}).get("path", "dataset.path"))
    extensions = sorted({e for ext in EXTENSIONS for e in (ext, ext.upper())})
    data = ds.ImageFolderDataset(str(Path(path) / usage), extensions=extensions, class_indexing=class_indexing,
                                 num_parallel_workers=num_parallel_workers,
                                 **sampler_arguments(num_shards, shard_id, shuffle, num_samples))
    return data, [vision.Decode()]
