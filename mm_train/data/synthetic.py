"""Small synthetic data sets in every supported format: for tests, benchmarks and trying a recipe offline.

    write_cifar10(Path("data/cifar-10-batches-bin"))          # CIFAR-10 binary layout, learnable classes
    write_image_folder(Path("data/folder"), 100, usage="train")  # ROOT/train/class_K/NNNNN.png
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np


def write_cifar10(folder: Path, seed: int = 0) -> Path:
    """A full-size CIFAR-10 binary layout (MindSpore's reader needs 10,000 records a file).

    Labels cycle 0..9; each image is filled with its label's value plus noise, so the
    classes are learnable and each record is recognisable by its first pixel bytes.
    """
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("data_batch_1.bin", "test_batch.bin"):
        labels = np.arange(10_000) % 10
        images = (labels[:, None] * 25 + rng.integers(0, 20, size=(10_000, 3072))).astype(np.uint8)
        records = np.concatenate([labels[:, None].astype(np.uint8), images], axis=1)
        (folder / name).write_bytes(records.tobytes())
    return folder


def tiny_images(n: int, size: int = 8, classes: int = 2, seed: int = 0):
    """``n`` distinct uint8 HWC images (index in the first pixels) and labels cycling over ``classes``."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % classes
    images = (labels[:, None, None, None] * 100 + rng.integers(0, 60, size=(n, size, size, 3))).astype(np.uint8)
    images[:, 0, 0, 0] = np.arange(n) % 256
    images[:, 0, 0, 1] = np.arange(n) // 256
    return images, labels


def encoded(images) -> list[bytes]:
    from mm_train.data.convert import png
    return [png(x) for x in images]


def write_image_folder(root: Path, n: int, usage: str = "train", classes: int = 2, size: int = 8, seed: int = 0):
    images, labels = tiny_images(n, size, classes, seed)
    for i, (data, y) in enumerate(zip(encoded(images), labels)):
        folder = root / usage / f"class_{y}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{i:05d}.png").write_bytes(data)
    return root


def write_mindrecord(path: Path, n: int, shards: int = 1, classes: int = 2, size: int = 8, seed: int = 0):
    from mm_train.data import convert
    images, labels = tiny_images(n, size, classes, seed)
    return convert.write_mindrecord(zip(encoded(images), labels.tolist()), str(path), shards)


def write_tfrecord(path: Path, n: int, shards: int = 1, classes: int = 2, size: int = 8, seed: int = 0):
    from mm_train.data import convert
    images, labels = tiny_images(n, size, classes, seed)
    return convert.write_tfrecord(zip(encoded(images), labels.tolist()), str(path), shards)


def image_id(image) -> str:
    return hashlib.sha1(np.ascontiguousarray(image).tobytes()).hexdigest()[:16]
