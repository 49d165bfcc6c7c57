"""What each reader yields: CIFAR-100 labels, raw-pixel TFRecord, class index of image folders,
``limit`` as the first N samples, and TFRecord framing / tf.train.Example encoding without TensorFlow."""
from __future__ import annotations

import struct

import numpy as np
import pytest

from mm_train.data.synthetic import tiny_images, write_mindrecord


def rows(cfg, split="eval", **settings):
    from mm_train.data import build_dataset
    data = build_dataset({**cfg, split: {"batch_size": 1, "shuffle": False, **settings}}, split)
    return [(r["image"][0], int(r["label"][0])) for r in data.create_dict_iterator(output_numpy=True, num_epochs=1)]


def test_cifar100_fine_and_coarse_labels(tmp_path):
    n = 10_000
    fine, coarse = np.arange(n) % 100, np.arange(n) % 20
    images = np.random.default_rng(0).integers(0, 256, size=(n, 3072), dtype=np.uint8)
    records = np.concatenate([coarse[:, None], fine[:, None], images], axis=1).astype(np.uint8)
    (tmp_path / "test.bin").write_bytes(records.tobytes())
    cfg = {"type": "cifar100", "path": str(tmp_path)}
    got = rows(cfg, limit=150)
    assert [y for _, y in got] == list(fine[:150])
    np.testing.assert_array_equal(got[3][0], images[3].reshape(3, 32, 32).transpose(1, 2, 0))
    assert [y for _, y in rows({**cfg, "label": "coarse"}, limit=30)] == list(coarse[:30])


def test_tfrecord_raw_pixels_with_a_declared_shape(tmp_path):
    from mm_train.data.tfrecord_io import TFRecordWriter, encode_example
    images, labels = tiny_images(5, size=4)
    with TFRecordWriter(tmp_path / "raw.tfrecord") as w:
        for x, y in zip(images, labels):
            w.write(encode_example({"pixels": x.tobytes(), "class": int(y), "weight": [0.5]}))
    cfg = {"type": "tfrecord", "path": str(tmp_path / "raw.tfrecord"), "decode": False,
           "features": {"pixels": {"type": "uint8", "shape": [4, 4, 3]}, "class": {"type": "int64"}},
           "columns": {"image": "pixels", "label": "class"}}
    got = rows(cfg)
    assert [y for _, y in got] == list(labels)
    for (image, _), x in zip(got, images):
        np.testing.assert_array_equal(image, x)


def test_image_folder_classes_by_sorted_folder_name_and_limit_is_the_first_n(tmp_path):
    for name, value in (("zebra", 200), ("ant", 10), ("moth", 90)):
        folder = tmp_path / "root" / "train" / name
        folder.mkdir(parents=True)
        from mm_train.data.convert import png
        for i in range(3):
            (folder / f"{i}.PNG").write_bytes(png(np.full((4, 4, 3), value + i, np.uint8)))
    got = rows({"type": "image_folder", "path": str(tmp_path / "root"), "usage": "train"})
    assert [(int(x[0, 0, 0]), y) for x, y in got] == [(10, 0), (11, 0), (12, 0), (90, 1), (91, 1), (92, 1),
                                                      (200, 2), (201, 2), (202, 2)]
    limited = rows({"type": "image_folder", "path": str(tmp_path / "root"), "usage": "train"}, limit=4)
    assert [int(x[0, 0, 0]) for x, _ in limited] == [10, 11, 12, 90]


def test_mindrecord_limit_is_the_first_n_and_a_file_list_reads(tmp_path):
    write_mindrecord(tmp_path / "a.mindrecord", 6)
    images, _ = tiny_images(6)
    got = rows({"type": "mindrecord", "path": str(tmp_path / "a.mindrecord")}, limit=4)
    assert [int(x[0, 0, 0]) for x, _ in got] == [0, 1, 2, 3]
    write_mindrecord(tmp_path / "b.mindrecord", 6, shards=2)
    both = rows({"type": "mindrecord", "path": [str(tmp_path / "b.mindrecord0"), str(tmp_path / "b.mindrecord1")]})
    assert sorted(int(x[0, 0, 0]) for x, _ in both) == list(range(6))


def test_tfrecord_framing_and_example_round_trip(tmp_path):
    from mm_train.data.tfrecord_io import (TFRecordError, TFRecordWriter, decode_example, encode_example,
                                           masked_crc, read_examples, read_records)
    assert masked_crc(b"") == ((((0 >> 15) | (0 << 17)) + 0xA282EAD8) & 0xFFFFFFFF)
    assert masked_crc(b"123456789") == ((((0xE3069283 >> 15) | (0xE3069283 << 17)) + 0xA282EAD8) & 0xFFFFFFFF)
    example = {"name": [b"a", b"bc"], "ints": [-3, 0, 2 ** 40], "floats": [0.25, -1.5], "text": "héllo"}
    with TFRecordWriter(tmp_path / "x.tfrecord") as w:
        w.write(encode_example(example))
        w.write(b"")
    raw = (tmp_path / "x.tfrecord").read_bytes()
    length = struct.unpack("<Q", raw[:8])[0]
    assert struct.unpack("<I", raw[8:12])[0] == masked_crc(raw[:8])
    assert struct.unpack("<I", raw[12 + length:16 + length])[0] == masked_crc(raw[12:12 + length])
    first, empty = list(read_records(tmp_path / "x.tfrecord"))
    assert empty == b""
    assert decode_example(first) == {"name": ("bytes", [b"a", b"bc"]), "ints": ("int64", [-3, 0, 2 ** 40]),
                                     "floats": ("float", [0.25, -1.5]), "text": ("bytes", ["héllo".encode()])}
    assert next(read_examples(tmp_path / "x.tfrecord"))["ints"] == [-3, 0, 2 ** 40]
    damaged = bytearray(raw)
    damaged[14] ^= 1
    (tmp_path / "y.tfrecord").write_bytes(bytes(damaged))
    with pytest.raises(TFRecordError, match="record 0: data checksum mismatch"):
        list(read_records(tmp_path / "y.tfrecord"))


def test_example_encoding_matches_protobuf(tmp_path):
    """Cross-check against the protobuf library with a tf.train.Example descriptor built at run time."""
    # protobuf comes with MindSpore
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    from mm_train.data.tfrecord_io import encode_example
    f = descriptor_pb2.FileDescriptorProto(name="example.proto", package="tensorflow", syntax="proto3")
    def message(name, *fields):
        m = f.message_type.add(name=name)
        for number, (fname, ftype, label, type_name) in enumerate(fields, 1):
            field = m.field.add(name=fname, number=number, type=ftype, label=label)
            if type_name:
                field.type_name = type_name
        return m
    T, L = descriptor_pb2.FieldDescriptorProto, descriptor_pb2.FieldDescriptorProto
    message("BytesList", ("value", T.TYPE_BYTES, L.LABEL_REPEATED, None))
    message("FloatList", ("value", T.TYPE_FLOAT, L.LABEL_REPEATED, None))
    message("Int64List", ("value", T.TYPE_INT64, L.LABEL_REPEATED, None))
    feature = message("Feature", ("bytes_list", T.TYPE_MESSAGE, L.LABEL_OPTIONAL, ".tensorflow.BytesList"),
                      ("float_list", T.TYPE_MESSAGE, L.LABEL_OPTIONAL, ".tensorflow.FloatList"),
                      ("int64_list", T.TYPE_MESSAGE, L.LABEL_OPTIONAL, ".tensorflow.Int64List"))
    feature.oneof_decl.add(name="kind")
    for field in feature.field:
        field.oneof_index = 0
    features = message("Features", ("feature", T.TYPE_MESSAGE, L.LABEL_REPEATED, ".tensorflow.Features.FeatureEntry"))
    entry = features.nested_type.add(name="FeatureEntry")
    entry.options.map_entry = True
    entry.field.add(name="key", number=1, type=T.TYPE_STRING, label=L.LABEL_OPTIONAL)
    entry.field.add(name="value", number=2, type=T.TYPE_MESSAGE, label=L.LABEL_OPTIONAL,
                    type_name=".tensorflow.Feature")
    message("Example", ("features", T.TYPE_MESSAGE, L.LABEL_OPTIONAL, ".tensorflow.Features"))
    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)
    Example = message_factory.GetMessageClass(pool.FindMessageTypeByName("tensorflow.Example"))
    parsed = Example.FromString(encode_example({"image": b"\x89PNG", "label": 7, "score": [0.5, 2.0], "neg": [-1]}))
    fmap = parsed.features.feature
    assert fmap["image"].bytes_list.value == [b"\x89PNG"]
    assert list(fmap["label"].int64_list.value) == [7]
    assert list(fmap["score"].float_list.value) == [0.5, 2.0]
    assert list(fmap["neg"].int64_list.value) == [-1]


def test_declared_augmentations_by_name(tmp_path):
    write_mindrecord(tmp_path / "d.mindrecord", 8, size=32)
    cfg = {"type": "mindrecord", "path": str(tmp_path / "d.mindrecord"),
           "train": {"batch_size": 4, "transforms": [
               {"type": "AutoAugment", "policy": "cifar10"},
               {"type": "RandAugment", "num_ops": 2, "magnitude": 9},
               {"type": "RandomCrop", "size": 32, "padding": 4, "padding_mode": "edge"},
               {"type": "Resize", "size": [24, 24], "interpolation": "bilinear"},
               {"type": "ToTensor"},                                   # HWC uint8 -> CHW float32 in [0, 1]
               {"type": "RandomErasing", "prob": 1.0},
               {"type": "Normalize", "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25], "is_hwc": False}]}}
    from mm_train.data import build_dataset
    batch = next(build_dataset(cfg, "train").create_dict_iterator(output_numpy=True))
    assert batch["image"].shape == (4, 3, 24, 24) and str(batch["image"].dtype) == "float32"
    assert batch["label"].shape == (4,) and str(batch["label"].dtype) == "int32"
