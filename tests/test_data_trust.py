"""Bad data is named, never trained on. Image-folder class lists, every TFRecord record
verified, failures inside the pipeline as one message naming the file, stride-0 torch tensors."""
from __future__ import annotations

import re
import shutil
import struct

import numpy as np
import pytest

from helpers import assert_user_error, run_main
from mm_train.data.synthetic import write_image_folder, write_tfrecord
from mm_train.core.errors import ConfigError

TF = {"type": "tfrecord", "features": {"image": {"type": "bytes"}, "label": {"type": "int64"}}}
FAST = ["dataset.train.batch_size=8", "dataset.eval.batch_size=8", "dataset.train.num_parallel_workers=1",
        "dataset.eval.num_parallel_workers=1", "callbacks=[]"]


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """Verified-file markers go to this test's temp dir (also for run.py subprocesses)."""
    monkeypatch.setenv("MM_TRAIN_CACHE_DIR", str(tmp_path / "cache"))


def build(cfg, split="train", **settings):
    from mm_train.data import build_dataset
    return build_dataset({**cfg, split: {"batch_size": 1, "shuffle": False, **settings}}, split)


def labels(cfg, split="eval"):
    return [int(r["label"][0]) for r in build(cfg, split).create_dict_iterator(output_numpy=True, num_epochs=1)]


def raises(message):
    return pytest.raises(ConfigError, match=re.escape(message))


def record_offsets(path) -> list[int]:
    data, pos, out = path.read_bytes(), 0, []
    while pos < len(data):
        out.append(pos)
        pos += 16 + struct.unpack("<Q", data[pos:pos + 8])[0]
    return out


def change_byte(path, pos, mask=0xFF):
    data = bytearray(path.read_bytes())
    data[pos] ^= mask
    path.write_bytes(bytes(data))


# --- 3: image_folder numbers classes from the train split ----------------------------------------

def test_val_split_without_a_class_keeps_the_train_labels(tmp_path):
    write_image_folder(tmp_path, 9, classes=3)
    write_image_folder(tmp_path, 6, usage="val", classes=3, seed=1)
    cfg = {"type": "image_folder", "path": str(tmp_path)}
    assert labels(cfg) == [0, 0, 1, 1, 2, 2]
    shutil.rmtree(tmp_path / "val" / "class_0")
    assert labels(cfg) == [1, 1, 2, 2]                       # not [0, 0, 1, 1]
    assert labels({**cfg, "classes": ["class_2", "class_1", "class_0"]}) == [1, 1, 0, 0]


def test_a_class_unknown_to_train_is_named_with_the_nearest_class(tmp_path):
    write_image_folder(tmp_path, 6, classes=3)
    write_image_folder(tmp_path, 6, usage="val", classes=3, seed=1)
    (tmp_path / "val" / "class_1").rename(tmp_path / "val" / "klass_1")
    with raises(f"dataset.path: {tmp_path}/val has the class folder 'klass_1', which is not a class of the train "
                f"split {tmp_path}/train (expected class folders among ['class_0', 'class_1', 'class_2'] (or list "
                "every class in dataset.classes)). Did you mean 'class_1'?"):
        build({"type": "image_folder", "path": str(tmp_path)}, "eval")
    with raises("which is not a class of dataset.classes"):
        build({"type": "image_folder", "path": str(tmp_path), "classes": ["class_0", "class_2"]})


def test_val_without_a_class_evaluates_to_the_same_accuracy(tmp_path):
    from test_data_recipes import train
    data = tmp_path / "data"
    write_image_folder(data / "full", 48, classes=3, size=16)
    write_image_folder(data / "full", 24, usage="val", classes=3, size=16, seed=1)
    shutil.copytree(data / "full", data / "missing")
    shutil.rmtree(data / "missing" / "val" / "class_0")
    accuracy = {}
    for name in ("full", "missing"):
        metrics = train("image_folder_small", tmp_path / name, f"dataset.path={data / name}", "dataset.num_classes=3",
                        "dataset.image_size=16", "train.epochs=3", "seed=0")
        accuracy[name] = metrics["final"]["acc"]
    assert accuracy["full"] >= 0.9, accuracy
    assert abs(accuracy["missing"] - accuracy["full"]) <= 0.1, accuracy    # the bug gave about 0.0 here


# --- 4: every TFRecord record is verified -------------------------------------------------------

@pytest.mark.parametrize("damage, record, message", [
    ("label", 200, "data checksum mismatch (corrupt record)"),
    ("length_crc", 100, "length checksum mismatch (corrupt header, not a TFRecord file?)"),
    ("data", 300, "data checksum mismatch (corrupt record)"),
    ("truncated", 399, "data cut short (file truncated)"),
])
def test_every_tfrecord_record_is_verified(tmp_path, damage, record, message):
    path = write_tfrecord(tmp_path / "t.tfrecord", 400)[0]
    start = record_offsets(path)[record]
    end = record_offsets(path)[record + 1] if record + 1 < 400 else path.stat().st_size
    if damage == "label":
        change_byte(path, end - 5, 0x01)               # the last data byte: the label's varint, 1 <-> 0
    elif damage == "length_crc":
        change_byte(path, start + 8)
    elif damage == "data":
        change_byte(path, start + 40)
    else:
        path.write_bytes(path.read_bytes()[:-50])
    with raises(f"dataset.train.path: {path} is not a valid TFRecord file: record {record}: {message}"):
        build({**TF, "path": str(path)})


def test_a_verified_tfrecord_file_is_verified_again_once_changed(tmp_path):
    path = write_tfrecord(tmp_path / "t.tfrecord", 20)[0]
    build({**TF, "path": str(path)})
    assert len(list((tmp_path / "cache" / "verified").iterdir())) == 1
    change_byte(path, record_offsets(path)[7] + 40)
    with raises(f"{path} is not a valid TFRecord file: record 7: data checksum mismatch"):
        build({**TF, "path": str(path)})


def test_corrupt_record_in_the_second_file_through_run_py(tmp_path):
    files = write_tfrecord(tmp_path / "train.tfrecord", 40, shards=2, size=32)
    write_tfrecord(tmp_path / "test.tfrecord", 8, size=32, seed=1)
    change_byte(files[1], record_offsets(files[1])[11] + 100)
    done = run_main("+recipe=cifar10_tfrecord", *FAST, "train.epochs=1",
                  f"dataset.train.path={tmp_path}/train.tfrecord-*", f"dataset.eval.path={tmp_path}/test.tfrecord",
                  f"hydra.run.dir={tmp_path / 'run'}")
    assert_user_error(done, f"error: dataset.train.path: {files[1]} is not a valid TFRecord file: record 11: "
                            "data checksum mismatch (corrupt record)")


def test_an_unparsable_example_is_named_with_its_record(tmp_path):
    from mm_train.data.convert import png
    from mm_train.data.failures import reported_data_errors
    from mm_train.data.tfrecord_io import TFRecordWriter, encode_example
    path = tmp_path / "t.tfrecord"
    with TFRecordWriter(path) as w:
        for i in range(8):                            # record 5: checksums right, not a tf.train.Example
            w.write(b"\xff\xff\xff" if i == 5 else encode_example({"image": png(np.zeros((4, 4, 3), np.uint8)),
                                                                  "label": i % 2}))
    data = build({**TF, "path": str(path)})
    with raises(f"{path}: record 5: protobuf varint cut short (cannot parse the tf.train.Example) (expected records "
                "that are serialized tf.train.Example messages with the declared features)"):
        with reported_data_errors():
            for _ in data.create_tuple_iterator(num_epochs=1):
                pass


# --- 5: damaged images ---------------------------------------------------------------------------

def image_data(tmp_path):
    write_image_folder(tmp_path / "images", 16, size=16)
    write_image_folder(tmp_path / "images", 8, usage="val", size=16, seed=1)
    return tmp_path / "images"


IMAGES = ["+recipe=image_folder_small", *FAST, "train.epochs=1", "dataset.num_classes=2", "dataset.image_size=16"]


def test_a_text_file_named_png_is_named_before_training(tmp_path):
    images = image_data(tmp_path)
    (images / "train" / "class_1" / "notes.png").write_text("not an image")
    done = run_main(*IMAGES, f"dataset.path={images}", f"hydra.run.dir={tmp_path / 'run'}")
    assert_user_error(done, f"error: dataset.path: {images}/train/class_1/notes.png does not start like a JPEG or "
                            "PNG file (its first bytes: b'not an i') (expected JPEG or PNG images")


def test_a_truncated_png_in_train_is_named_through_run_py(tmp_path):
    images = image_data(tmp_path)
    bad = images / "train" / "class_0" / "00004.png"
    bad.write_bytes(bad.read_bytes()[:60])            # the signature survives: found while decoding
    done = run_main(*IMAGES, f"dataset.path={images}", f"hydra.run.dir={tmp_path / 'run'}")
    assert_user_error(done, f"error: {bad}: the image cannot be decoded (a truncated or damaged image, or not an "
                            "image) (expected a valid JPEG or PNG file: replace or remove it)")


def test_a_truncated_png_in_val_is_named_by_the_evaluation(tmp_path):
    from test_data_recipes import train
    images = image_data(tmp_path)
    bad = images / "val" / "class_1" / "00003.png"
    bad.write_bytes(bad.read_bytes()[:60])
    with raises(f"{bad}: the image cannot be decoded"):
        train("image_folder_small", tmp_path / "run", f"dataset.path={images}", "dataset.num_classes=2",
              "dataset.image_size=16")


def test_data_error_recognises_only_pipeline_failures():
    from mm_train.data.failures import data_error
    text = ("Exception thrown from dataset pipeline. Refer to 'Dataset Pipeline Error Message'.\n[ERROR] map "
            "operation: [Resize] failed. The corresponding data file is: /d/val/a.b/x.jpg. Resize: bad size.\n")
    assert str(data_error(RuntimeError(text))) == ("/d/val/a.b/x.jpg: the data pipeline's Resize failed: "
                                                   "Resize: bad size.")
    assert data_error(RuntimeError("some other failure")) is None
    assert data_error(ValueError(text)) is None


# --- 9: a stride-0 torch tensor is refused, not allocated ---------------------------------------

def test_stride_zero_torch_tensor_is_refused_naming_key_and_size(tmp_path):
    from migrate_helpers import write_pth
    from mm_train.migrate.sources import read_weights
    path = write_pth(tmp_path / "bomb.pth", {"fc.weight": ((10**6, 10**6), (0, 0), 0)}, np.zeros(1, np.float32))
    assert path.stat().st_size < 2000
    with raises(f"init_from: refused to load {path}: tensor 'fc.weight' of shape [1000000, 1000000] holds "
                "1,000,000,000,000 elements (3.6 TiB) built from 1 stored elements; the tensors of this file may "
                "take at most 256.0 MiB (4 x its 4 bytes of storage, at least 256.0 MiB)"):
        read_weights(path)


def test_small_expanded_and_strided_torch_tensors_read_as_arrays(tmp_path):
    from migrate_helpers import write_pth
    from mm_train.migrate.sources import read_weights
    path = write_pth(tmp_path / "views.pth", {"bias": ((3, 4), (0, 1), 1), "every_third": ((2,), (3,), 0)},
                     np.arange(6, dtype=np.float32))
    weights = read_weights(path)
    np.testing.assert_array_equal(weights["bias"], np.tile(np.arange(1, 5, dtype=np.float32), (3, 1)))
    np.testing.assert_array_equal(weights["every_third"], np.array([0.0, 3.0], np.float32))
    assert weights["bias"].flags.writeable and weights["bias"].strides == (16, 4)    # real arrays, not views
