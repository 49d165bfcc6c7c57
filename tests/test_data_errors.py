"""Bad data stops before training with one message naming the file or key (exit 2 through run.py)."""
from __future__ import annotations

import re
import shutil

import pytest

from helpers import assert_user_error, run_main
from mm_train.data.synthetic import write_image_folder, write_mindrecord, write_tfrecord
from mm_train.core.errors import ConfigError

TF = {"type": "tfrecord", "features": {"image": {"type": "bytes"}, "label": {"type": "int64"}}}


def build(cfg, split="train"):
    from mm_train.data import build_dataset
    return build_dataset(cfg, split)


def raises(message):
    return pytest.raises(ConfigError, match=re.escape(message))


def test_missing_cifar_folder_through_run_py(tmp_path):
    done = run_main("+recipe=resnet50_cifar", f"dataset.path={tmp_path}/nowhere")
    assert_user_error(done, f"error: dataset.path: folder not found: {tmp_path}/nowhere (expected the "
                            "cifar-10-batches-bin folder (mm-train data download cifar10 --dest DIR))")


def test_truncated_cifar_bin_through_run_py(cifar_dir, tmp_path):
    folder = tmp_path / "cifar"
    shutil.copytree(cifar_dir, folder)
    data = (folder / "data_batch_1.bin").read_bytes()
    (folder / "data_batch_1.bin").write_bytes(data[:-1000])
    done = run_main("+recipe=resnet50_cifar", f"dataset.path={folder}")
    assert_user_error(done, f"dataset.path: {folder}/data_batch_1.bin has {len(data) - 1000} bytes (expected 10000 "
                            "records of 3073 bytes (30730000 bytes): the file is truncated or not the binary "
                            "version of CIFAR-10)")


def test_corrupt_tfrecord_header_through_run_py(tmp_path):
    write_tfrecord(tmp_path / "train.tfrecord", 8, size=32)
    write_tfrecord(tmp_path / "test.tfrecord", 8, size=32)
    data = bytearray((tmp_path / "train.tfrecord").read_bytes())
    data[3] ^= 0xFF                                  # the length no longer matches its checksum
    (tmp_path / "train.tfrecord").write_bytes(bytes(data))
    done = run_main("+recipe=cifar10_tfrecord", f"dataset.train.path={tmp_path}/train.tfrecord",
                  f"dataset.eval.path={tmp_path}/test.tfrecord")
    assert_user_error(done, f"dataset.train.path: {tmp_path}/train.tfrecord is not a valid TFRecord file: record 0: "
                            "length checksum mismatch (corrupt header, not a TFRecord file?)")


def test_tfrecord_problems(tmp_path):
    write_tfrecord(tmp_path / "ok.tfrecord", 4)
    (tmp_path / "short.tfrecord").write_bytes((tmp_path / "ok.tfrecord").read_bytes()[:30])
    (tmp_path / "empty.tfrecord").write_bytes(b"")
    with raises(f"dataset.train.path: {tmp_path}/short.tfrecord is not a valid TFRecord file: record 0: "
                "data cut short (file truncated)"):
        build({**TF, "path": str(tmp_path / "short.tfrecord")})
    with raises(f"{tmp_path}/empty.tfrecord is not a valid TFRecord file: the file is empty"):
        build({**TF, "path": str(tmp_path / "empty.tfrecord")})
    with raises(f"dataset.train.path: file not found: {tmp_path}/train-*.tfrecord"):
        build({**TF, "path": str(tmp_path / "train-*.tfrecord")})
    features = {"image/encoded": {"type": "bytes"}, "label": {"type": "int64"}}
    with raises(f"dataset.features.image/encoded: feature 'image/encoded' is not in {tmp_path}/ok.tfrecord "
                "(expected one of its features ['image', 'label'])"):
        build({**TF, "path": str(tmp_path / "ok.tfrecord"), "features": features,
               "columns": {"image": "image/encoded", "label": "label"}})
    with raises("dataset.columns.label: 'labels' is not a declared feature (expected one of dataset.features "
                "['image', 'label']). Did you mean 'label'?"):
        build({**TF, "path": str(tmp_path / "ok.tfrecord"), "columns": {"image": "image", "label": "labels"}})
    with raises("dataset.features.label.type: declared float32, but the file stores int64 values"):
        build({**TF, "path": str(tmp_path / "ok.tfrecord"),
               "features": {"image": {"type": "bytes"}, "label": {"type": "float32"}}})
    with raises("dataset.features.label.type: got 'int'"):
        build({**TF, "path": str(tmp_path / "ok.tfrecord"),
               "features": {"image": {"type": "bytes"}, "label": {"type": "int"}}})


def test_mindrecord_problems(tmp_path):
    write_mindrecord(tmp_path / "d.mindrecord", 4)
    with raises(f"dataset.train.path: file not found: {tmp_path}/nope.mindrecord (expected a .mindrecord file)"):
        build({"type": "mindrecord", "path": str(tmp_path / "nope.mindrecord")})
    (tmp_path / "d.mindrecord.db").rename(tmp_path / "moved.db")
    with raises(f"dataset.train.path: index file not found: {tmp_path}/d.mindrecord.db (expected the .db index "
                "MindRecord writes beside each data file)"):
        build({"type": "mindrecord", "path": str(tmp_path / "d.mindrecord")})
    (tmp_path / "moved.db").rename(tmp_path / "d.mindrecord.db")
    with raises("dataset.columns.image: column 'images' is not in " f"{tmp_path}/d.mindrecord (expected one of its "
                "columns ['image', 'label']). Did you mean 'image'?"):
        build({"type": "mindrecord", "path": str(tmp_path / "d.mindrecord"),
               "columns": {"image": "images", "label": "label"}})
    (tmp_path / "fake.mindrecord").write_bytes(b"not a mindrecord" * 100)
    (tmp_path / "fake.mindrecord.db").write_bytes(b"nor an index")
    with raises(f"dataset.train.path: {tmp_path}/fake.mindrecord is not a readable MindRecord file"):
        build({"type": "mindrecord", "path": str(tmp_path / "fake.mindrecord")})


def test_wrong_format_folders(tmp_path, cifar_dir):
    write_image_folder(tmp_path / "images", 4)
    with raises(f"dataset.path: no CIFAR-10 train files in {tmp_path}/images (expected data_batch_*.bin"):
        build({"type": "cifar10", "path": str(tmp_path / "images")})
    with raises(f"dataset.path: {cifar_dir} has no class sub-folders (found files such as"):
        build({"type": "image_folder", "path": str(cifar_dir.parent), "usage": cifar_dir.name})
    with raises(f"dataset.path: folder not found: {tmp_path}/images/val (the 'val' split of {tmp_path}/images) "
                "(expected dataset.path naming the folder that holds val/<class>/*.jpg, or dataset.eval.usage one "
                "of its split folders ['train'])"):
        build({"type": "image_folder", "path": str(tmp_path / "images")}, "eval")
    (tmp_path / "images" / "train" / "empty_class").mkdir()
    with raises("class folders without images in"):
        build({"type": "image_folder", "path": str(tmp_path / "images")})
    with raises(f"dataset.path: folder not found: {tmp_path}/none"):
        build({"type": "image_folder", "path": str(tmp_path / "none")})
    with raises(f"no CIFAR-100 test files in {cifar_dir} (expected test.bin"):
        build({"type": "cifar100", "path": str(cifar_dir)}, "eval")


def test_pipeline_setting_problems(tmp_path):
    write_mindrecord(tmp_path / "d.mindrecord", 4)
    cfg = {"type": "mindrecord", "path": str(tmp_path / "d.mindrecord")}
    from mm_train.registry import DATASETS   # split settings are checked once, by validation, not again at build
    assert "dataset.train.limit: got 0 (expected a whole number from 1 to 2147483647 or null)" in map(
        str, DATASETS.check({**cfg, "train": {"limit": 0}}, "dataset"))
    with raises("dataset.train.transforms[0]: MixUpBatch works on whole batches (expected it under "
                "dataset.train.batch_transforms (with dataset.one_hot: true))"):
        build({**cfg, "train": {"transforms": [{"type": "MixUpBatch"}]}})
    with raises("dataset.num_classes: got None (expected the number of classes (one_hot: true needs it))"):
        build({**cfg, "one_hot": True, "train": {"batch_size": 2}})
    with raises("dataset.train.shard_id: got 2 (expected a whole number from 0 to 1)"):
        build({**cfg, "train": {"num_shards": 2, "shard_id": 2}})


def test_batch_transform_typo_is_reported_before_building(tmp_path):
    from mm_train.config.schema import validate
    from mm_train.registry import load_all as load_components
    from helpers import ROOT
    from omegaconf import OmegaConf
    load_components()
    cfg = OmegaConf.to_container(OmegaConf.load(ROOT / "recipes" / "cifar10_tfrecord.yaml"))
    base = OmegaConf.to_container(OmegaConf.load(ROOT / "conf" / "config.yaml"))
    cfg = {**{k: v for k, v in base.items() if k not in ("defaults", "hydra")}, **cfg,
           "device": {"target": "CPU"}, "paths": {"data": str(tmp_path), "bundled": ""}}
    cfg["dataset"]["train"]["batch_transforms"] = [{"type": "MixupBatch"}]
    with raises("dataset.train.batch_transforms[0].type: unknown transform 'MixupBatch'"):
        validate(OmegaConf.to_container(OmegaConf.create(cfg), resolve=True))
