"""Convert data sets to sharded MindRecord or TFRecord (no TensorFlow needed).

    mm-train data convert cifar10 data/cifar-10-batches-bin out/cifar_train.mindrecord --usage train --shards 4
    mm-train data convert image_folder data/flowers out/flowers_val.tfrecord --usage val --shards 2
    mm-train data convert tfrecord 'data/train-*.tfrecord' out/train.mindrecord --image-key image/encoded \\
        --label-key image/class/label

Every output stores two columns / features: ``image`` (encoded image bytes: the source's
own JPEG/PNG bytes, PNG for CIFAR's raw pixels, so decoding gives the same pixels) and
``label`` (int). Read them back with ``type: mindrecord`` or ``type: tfrecord`` recipes
(recipes/quickstart_mindrecord.yaml, recipes/quickstart_tfrecord.yaml).
"""
from __future__ import annotations

import glob
from pathlib import Path
from typing import Iterable, Iterator, Tuple

import numpy as np

from mm_train.core.errors import ConfigError

Sample = Tuple[bytes, int]
SOURCES = ("cifar10", "cifar100", "image_folder", "tfrecord", "mindrecord")
TARGETS = ("mindrecord", "tfrecord")


def png(image: np.ndarray) -> bytes:
    import mindspore.dataset.vision as vision
    return vision.encode_png(np.ascontiguousarray(image)).tobytes()


def cifar_samples(folder: str, usage: str, name: str = "cifar10", label: str = "fine") -> Iterator[Sample]:
    """CIFAR binary records in file order, images as PNG."""
    from mm_train.data.cifar10 import IMAGE_BYTES, LAYOUTS, check_folder
    check_folder(folder, usage, "source", name)
    label_bytes, layout, _ = LAYOUTS[name]
    parts = layout["train"] + layout["test"] if usage == "all" else layout[usage]
    for pattern, _ in parts:
        for f in sorted(Path(folder).glob(pattern)):
            records = np.fromfile(f, np.uint8).reshape(-1, label_bytes + IMAGE_BYTES)
            labels = records[:, label_bytes - 1 if label == "fine" else 0]
            images = records[:, label_bytes:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
            for image, y in zip(images, labels):
                yield png(image), int(y)


def image_folder_samples(root: str, usage: str) -> Iterator[Sample]:
    """The files' own bytes, labels from the train split's class list (as training reads them), files in order."""
    from mm_train.data.image_folder import class_index, image_files
    classes = class_index(Path(root), usage, "source")
    for name, index in classes.items():
        for f in image_files(Path(root) / usage / name):
            yield f.read_bytes(), index


def tfrecord_samples(pattern: str, image_key: str, label_key: str) -> Iterator[Sample]:
    from mm_train.data.tfrecord import resolve_files
    from mm_train.data.tfrecord_io import read_examples
    for f in resolve_files(sorted(glob.glob(pattern)) or [pattern], "source"):
        for i, example in enumerate(read_examples(f)):
            for key in (image_key, label_key):
                if key not in example:
                    raise ConfigError("--image-key" if key == image_key else "--label-key",
                                      f"feature '{key}' is not in {f} (record {i})",
                                      expected=f"one of its features {sorted(example)}")
            yield bytes(example[image_key][0]), int(example[label_key][0])


def mindrecord_samples(path: str, image_key: str, label_key: str) -> Iterator[Sample]:
    from mindspore.mindrecord import FileReader
    from mm_train.data.mindrecord import file_columns
    if not Path(path).is_file() or not Path(path + ".db").is_file():
        raise ConfigError("source", f"{path} or its .db index not found", expected="a .mindrecord file and its .db")
    schema = file_columns(path, "source")
    for key, flag in ((image_key, "--image-key"), (label_key, "--label-key")):
        if key not in schema:
            raise ConfigError(flag, f"column '{key}' is not in {path}", expected=f"one of {sorted(schema)}")
    reader = FileReader(path, columns=[image_key, label_key])
    try:
        for item in reader.get_next():
            yield bytes(item[image_key]), int(np.asarray(item[label_key]).reshape(-1)[0])
    finally:
        reader.close()


def samples(source: str, src: str, usage: str | None = None, image_key: str = "image",
            label_key: str = "label") -> Iterator[Sample]:
    """(encoded image, label) pairs of a source in its storage order."""
    if source in ("cifar10", "cifar100"):
        return cifar_samples(src, usage or "train", source)
    if source == "image_folder":
        return image_folder_samples(src, usage or "train")
    if source == "tfrecord":
        return tfrecord_samples(src, image_key, label_key)
    if source == "mindrecord":
        return mindrecord_samples(src, image_key, label_key)
    raise ConfigError("source", f"unknown source format '{source}'", expected=f"one of {list(SOURCES)}")


def shard_paths(dest: str, target: str, shards: int) -> list[Path]:
    """The files a conversion writes: ``dest`` for one shard; ``dest0..`` (MindRecord) or
    ``dest-00000-of-00004`` (TFRecord) for several."""
    if shards == 1:
        return [Path(dest)]
    if target == "mindrecord":
        return [Path(f"{dest}{i}") for i in range(shards)]
    return [Path(f"{dest}-{i:05d}-of-{shards:05d}") for i in range(shards)]


def write_mindrecord(items: Iterable[Sample], dest: str, shards: int = 1, chunk: int = 1000) -> list[Path]:
    from mindspore.mindrecord import FileWriter
    writer = FileWriter(str(dest), shard_num=shards, overwrite=True)
    writer.add_schema({"image": {"type": "bytes"}, "label": {"type": "int32"}}, "mm_train image, label")
    batch = []
    for image, label in items:
        batch.append({"image": image, "label": label})
        if len(batch) == chunk:
            writer.write_raw_data(batch)
            batch = []
    if batch:
        writer.write_raw_data(batch)
    writer.commit()
    return shard_paths(dest, "mindrecord", shards)


def write_tfrecord(items: Iterable[Sample], dest: str, shards: int = 1) -> list[Path]:
    """Records go to the shards in turn (record i to shard i % shards)."""
    from mm_train.data.tfrecord_io import TFRecordWriter, encode_example
    paths = shard_paths(dest, "tfrecord", shards)
    writers = [TFRecordWriter(p) for p in paths]
    try:
        for i, (image, label) in enumerate(items):
            writers[i % shards].write(encode_example({"image": image, "label": int(label)}))
    finally:
        for w in writers:
            w.close()
    return paths


def convert(source: str, src: str, target: str, dest: str, shards: int = 1, usage: str | None = None,
            image_key: str = "image", label_key: str = "label", limit: int | None = None) -> tuple[list[Path], int]:
    """Write ``src`` (format ``source``) as ``target`` files; return the files and the sample count."""
    if target not in TARGETS:
        raise ConfigError("--to", f"unknown target format '{target}'", expected=f"one of {list(TARGETS)}")
    if shards < 1:
        raise ConfigError("--shards", f"got {shards}", expected="a whole number >= 1")
    count = 0

    def counted() -> Iterator[Sample]:
        nonlocal count
        for item in samples(source, src, usage, image_key, label_key):
            if limit is not None and count >= limit:
                return
            count += 1
            yield item

    items = counted()
    first = next(items, None)          # a bad source stops here, before any file is written
    if first is None:
        raise ConfigError("source", f"no samples in {src}", expected=f"a {source} data set with samples")

    Path(dest).parent.mkdir(parents=True, exist_ok=True)

    def all_items() -> Iterator[Sample]:
        yield first
        yield from items

    write = write_mindrecord if target == "mindrecord" else write_tfrecord
    from mm_train.runtime import interruption
    try:
        with interruption.phase(f"data convert (writing {dest})"):
            return write(all_items(), dest, shards), count
    except BaseException:   # interrupted or failed: no half-written data set is left behind
        removed = remove_partial(dest, target, shards)
        if removed:
            interruption.add_note("removed the partial output " + ", ".join(str(p) for p in removed))
        raise


def remove_partial(dest: str, target: str, shards: int) -> list[Path]:
    """Delete the files a conversion into ``dest`` writes (MindRecord's ``.db`` index files too); those removed."""
    removed = []
    for path in shard_paths(dest, target, shards):
        for candidate in (path, Path(f"{path}.db")):
            if candidate.exists():
                candidate.unlink()
                removed.append(candidate)
    return removed
