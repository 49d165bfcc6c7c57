"""Checks of what the pipeline hands the network, where the pipeline sees it: label range and finite pixels.

:class:`BatchGuard` runs on every batch (two numpy reductions): integer labels must lie in
``[0, dataset.num_classes)`` and float images must hold no NaN or Inf. :class:`LabelGuard` checks each
label before ``one_hot`` turns it into a row. On the first bad batch the guard finds the file and
record (:func:`locate`: TFRecord, MindRecord and CIFAR files are scanned record by record, an image
folder file by file, on the error path only; a problem no file holds names the batch) and stops
the run with one message, through :func:`mm_train.data.failures.data_error`::

    dataset.train: /data/train-00001.tfrecord record 17: label 12 is outside [0, 10) (dataset.num_classes)

The one-sample check before compiling (:func:`mm_train.assembly.parts.check_sample`) pulls a batch
through the same guard, so a bad first batch stops the run before any graph is compiled.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Optional

import numpy as np

MARK = "mm_train data check"   # found in MindSpore's error text by data_error


class DataCheckFailed(ValueError):
    """Raised inside the pipeline; MindSpore re-creates it from its text, so the text carries the parts."""

    @classmethod
    def of(cls, where: str, problem: str, expected: str) -> "DataCheckFailed":
        return cls(f"[{MARK}|{where}|{problem}|{expected}]")


def _label_problem(value, num_classes: int) -> Optional[str]:
    return f"label {value} is outside [0, {num_classes}) (dataset.num_classes)" \
        if not 0 <= value < num_classes else None


def _pixel_problem(values) -> Optional[str]:
    array = np.asarray(values)
    # one sum (fast): finite unless a value is NaN or Inf, or the sum overflows, which the exact test rules out
    if array.dtype.kind != "f" or not array.size:
        return None
    with np.errstate(over="ignore", invalid="ignore"):
        total = float(array.sum())
    if not math.isfinite(total) and not np.isfinite(array).all():
        bad = array[~np.isfinite(array)].ravel()[0]
        return f"the image holds {'NaN' if math.isnan(bad) else 'Inf'} values"
    return None


LABEL_EXPECTED = "labels from 0 to dataset.num_classes - 1: fix the records or dataset.num_classes"
PIXEL_EXPECTED = "finite pixel values: fix or remove the record"


class BatchGuard:
    """A batch map operation on (image, label): labels in range, float pixels finite; else DataCheckFailed."""

    def __init__(self, num_classes: Optional[int], where: str, locate: Callable[[], Optional[str]]):
        self.num_classes, self.where, self.locate, self.batches = num_classes, where, locate, 0

    def _fail(self, problem: str, expected: str):
        found = self.locate()
        raise DataCheckFailed.of(self.where, found or f"batch {self.batches} of the split: {problem}", expected)

    def __call__(self, image, label):
        labels = np.asarray(label)
        if self.num_classes and labels.dtype.kind in "iu" and labels.size and \
                (labels.min() < 0 or labels.max() >= self.num_classes):
            value = labels[(labels < 0) | (labels >= self.num_classes)].ravel()[0]
            self._fail(_label_problem(int(value), self.num_classes), LABEL_EXPECTED)
        problem = _pixel_problem(image)
        if problem:
            self._fail(problem, PIXEL_EXPECTED)
        self.batches += 1
        return image, label


class LabelGuard(BatchGuard):
    """The same check on one label, before ``OneHot`` (an out-of-range label would become a row of zeros)."""

    def __call__(self, label):
        value = np.asarray(label).ravel()
        if self.num_classes and value.size and value.dtype.kind in "iu" and not 0 <= int(value[0]) < self.num_classes:
            self._fail(_label_problem(int(value[0]), self.num_classes), LABEL_EXPECTED)
        return label


def _record_problem(image, label, num_classes: Optional[int]) -> Optional[str]:
    values = np.asarray(label).ravel()
    if num_classes and values.size and values.dtype.kind in "iu" and (problem := _label_problem(int(values[0]), num_classes)):
        return problem
    return _pixel_problem(image) if image is not None else None


def _tfrecord_records(args: Mapping[str, Any]):
    from mm_train.data.tfrecord import resolve_files
    from mm_train.data.tfrecord_io import read_examples
    columns = dict(args.get("columns") or {"image": "image", "label": "label"})
    features = args.get("features") or {}
    float_image = str((features.get(columns["image"]) or {}).get("type")) in ("float32", "float")
    for file in resolve_files(args.get("path"), "dataset.path"):
        for index, example in enumerate(read_examples(file)):
            image = np.asarray(example.get(columns["image"]), np.float32) if float_image else None
            yield file, index, image, np.asarray(example.get(columns["label"], []))


def _mindrecord_records(args: Mapping[str, Any]):
    from mindspore.mindrecord import FileReader
    columns = dict(args.get("columns") or {"image": "image", "label": "label"})
    path = args.get("path")
    for file in [path] if isinstance(path, str) else list(path or []):
        reader = FileReader(str(file))
        try:
            for index, row in enumerate(reader.get_next()):
                image = row.get(columns["image"])
                image = image if isinstance(image, np.ndarray) and image.dtype.kind == "f" else None
                yield file, index, image, np.asarray(row.get(columns["label"]))
        finally:
            reader.close()


def _cifar_records(args: Mapping[str, Any], name: str, split: str):
    """The labels of a CIFAR binary split, file by file in the reader's order (8-bit images: no pixel check).

    Reads each file once, on the error path only, and walks its label column."""
    from pathlib import Path

    from mm_train.data.cifar10 import IMAGE_BYTES, LAYOUTS
    label_bytes, layout, _ = LAYOUTS[name]
    usage = args.get("usage") or ("train" if split == "train" else "test")
    parts = layout["train"] + layout["test"] if usage == "all" else layout[usage]
    column = 1 if name == "cifar100" and args.get("label", "fine") == "fine" else 0
    for pattern, _ in parts:
        for file in sorted(Path(str(args.get("path"))).glob(pattern)):
            raw = np.fromfile(file, np.uint8)
            labels = raw[:raw.size - raw.size % (label_bytes + IMAGE_BYTES)].reshape(-1, label_bytes + IMAGE_BYTES)
            for index, value in enumerate(labels[:, column]):
                yield file, index, None, np.asarray([value], np.int64)


def _image_folder_records(args: Mapping[str, Any], split: str):
    """Each image file of an image-folder split with its label (8-bit images: no pixel check)."""
    from pathlib import Path

    from mm_train.data.image_folder import class_index, image_files
    root = Path(str(args.get("path")))
    usage = args.get("usage") or ("train" if split == "train" else "val")
    train_usage = usage if split == "train" else ((args.get("train_args") or {}).get("usage") or "train")
    index = class_index(root, usage, "dataset", args.get("classes"), train_usage)
    for name, label in sorted(index.items(), key=lambda item: item[1]):
        for file in image_files(root / usage / name):
            yield file, None, None, np.asarray([label], np.int64)


SCANNERS = {"tfrecord": lambda args, split: _tfrecord_records(args),
            "mindrecord": lambda args, split: _mindrecord_records(args),
            "cifar10": lambda args, split: _cifar_records(args, "cifar10", split),
            "cifar100": lambda args, split: _cifar_records(args, "cifar100", split),
            "image_folder": _image_folder_records}


def locate(kind: str, args: Mapping[str, Any], num_classes: Optional[int], split: str = "train") -> Optional[str]:
    """``FILE record N: problem`` for the first bad record of a split (``FILE: problem`` for an image file), or None.

    TFRecord, MindRecord and CIFAR files are scanned record by record in file order, an image folder file
    by file; a problem the files do not hold (NaN made by a transform) gives None."""
    scan = SCANNERS.get(str(kind))
    if scan is None:
        return None
    try:
        for file, index, image, label in scan(args, split):
            problem = _record_problem(image, label, num_classes)
            if problem:
                return f"{file}: {problem}" if index is None else f"{file} record {index}: {problem}"
    except Exception:  # noqa: BLE001 - the scan only names the record; the batch's problem is reported anyway
        return None
    return None


def guards(dataset: Mapping[str, Any], split: str, where: str, reader_args: Mapping[str, Any],
           train_args: Optional[Mapping[str, Any]] = None):
    """(label guard or None, batch guard) for one split of ``dataset`` (``train_args``: the train split's
    reader arguments, for an image folder's class list)."""
    classes = dataset.get("num_classes")
    classes = classes if isinstance(classes, int) and not isinstance(classes, bool) and classes > 0 else None
    if dataset.get("type") == "image_folder":
        reader_args = {**reader_args, "train_args": train_args or {},
                       **({"classes": dataset["classes"]} if dataset.get("classes") is not None else {})}
    find = lambda: locate(dataset.get("type"), reader_args, classes, split)   # noqa: E731
    label = LabelGuard(classes, f"{where}.{split}", find) if dataset.get("one_hot") and classes else None
    return label, BatchGuard(classes, f"{where}.{split}", find)


def odd_image(dataset: Mapping[str, Any], split: str, limit: int = 100_000) -> Optional[str]:
    """``FILE is 1x1 pixels, the others WxH`` for an image folder split whose images differ in size, or None.

    Reads image headers only (Pillow), after the pipeline failed to batch images of different sizes.
    """
    if dataset.get("type") != "image_folder":
        return None
    from collections import Counter
    from pathlib import Path

    from PIL import Image
    args = {k: v for k, v in dataset.items() if k not in ("train", "eval")}
    args.update(dataset.get(split) or {})
    folder = Path(str(args.get("path"))) / str(args.get("usage") or ("train" if split == "train" else "val"))
    sizes = {}
    for file in sorted(folder.glob("*/*"))[:limit]:
        try:
            with Image.open(file) as image:
                sizes[file] = image.size
        except Exception:  # noqa: BLE001 - not an image: the signature check names it
            continue
    if not sizes:
        return None
    common = Counter(sizes.values()).most_common(1)[0][0]
    odd = sorted((w * h, str(f), (w, h)) for f, (w, h) in sizes.items() if (w, h) != common)
    if not odd:
        return None
    _, file, (w, h) = odd[0]
    return (f"{file} is {w}x{h} pixels, the other images {common[0]}x{common[1]}: the transforms do not bring "
            f"every image to one size")


