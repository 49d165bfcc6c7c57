"""The ready recipes for each reader train a few steps and evaluate; MixUp/CutMix train on soft labels."""
from __future__ import annotations

import pytest

import helpers
from helpers import assert_user_error, read_metrics, run_main
from mm_train.data.synthetic import write_image_folder, write_mindrecord, write_tfrecord

FAST = ["train.epochs=1", "dataset.train.batch_size=8", "dataset.eval.batch_size=8",
        "dataset.train.num_parallel_workers=1", "dataset.eval.num_parallel_workers=1", "callbacks=[]"]


def compose(recipe: str, *overrides: str):
    return helpers.compose(recipe, *FAST, *overrides)


def train(recipe, run_dir, *overrides):
    from mm_train.jobs import execute
    acc = execute(compose(recipe, *overrides), run_dir, recipe)
    metrics = read_metrics(run_dir)
    assert metrics["final"]["acc"] == acc and 0.0 <= acc <= 1.0
    assert metrics["final"]["loss"] > 0
    return metrics


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("recipes")
    write_mindrecord(d / "train.mindrecord", 32, shards=2, size=32)
    write_mindrecord(d / "test.mindrecord", 16, size=32, seed=1)
    write_tfrecord(d / "train.tfrecord", 32, shards=2, size=32)
    write_tfrecord(d / "test.tfrecord", 16, size=32, seed=1)
    write_image_folder(d / "images", 32, size=16)
    write_image_folder(d / "images", 16, usage="val", size=16, seed=1)
    return d


def test_mindrecord_recipe_trains_and_evaluates(data, tmp_path):
    metrics = train("cifar10_mindrecord", tmp_path, f"dataset.train.path={data}/train.mindrecord0",
                    f"dataset.eval.path={data}/test.mindrecord")
    assert len(metrics["history"]) == 1


def test_tfrecord_recipe_trains_and_evaluates_through_run_py(data, tmp_path):
    done = run_main("+recipe=cifar10_tfrecord", *FAST, f"dataset.train.path={data}/train.tfrecord-*",
                  f"dataset.eval.path={data}/test.tfrecord", f"hydra.run.dir={tmp_path}")
    assert done.returncode == 0, done.stderr[-3000:]
    assert 0.0 <= read_metrics(tmp_path)["final"]["acc"] <= 1.0


def test_image_folder_recipe_trains_and_evaluates(data, tmp_path):
    train("image_folder_small", tmp_path, f"dataset.path={data}/images", "dataset.num_classes=2",
          "dataset.image_size=16")


def test_cifar10_reader_with_limit_trains_and_evaluates(cifar_dir, tmp_path):
    # dataset.type=cifar10 re-types the dataset: the mindrecord's columns, decode and paths are dropped, and
    # what the new reader needs is given on the command line (as a child recipe would write it)
    transforms = "[{type: Rescale, rescale: 0.00392156862745098, shift: 0.0}, {type: HWC2CHW}]"
    metrics = train("cifar10_mindrecord", tmp_path, "dataset.type=cifar10", f"+dataset.path={cifar_dir}",
                    "dataset.num_classes=10", f"dataset.train.transforms={transforms}",
                    f"dataset.eval.transforms={transforms}", "+dataset.train.limit=64", "+dataset.eval.limit=40")
    assert len(metrics["history"]) == 1


@pytest.mark.parametrize("batch_transform", ["{type: MixUpBatch, alpha: 0.4}",
                                             "{type: CutMixBatch, image_batch_format: nchw, alpha: 1.0, prob: 1.0}"])
def test_mixup_and_cutmix_train_on_one_hot_labels(data, tmp_path, batch_transform):
    train("cifar10_mindrecord", tmp_path, f"dataset.train.path={data}/train.mindrecord0",
          f"dataset.eval.path={data}/test.mindrecord", "+dataset.one_hot=true", "loss.sparse=false",
          f"+dataset.train.batch_transforms=[{batch_transform}]")


def test_mixup_batches_hold_mixed_soft_labels(data):
    import numpy as np
    import mindspore.dataset as ds
    from mm_train.data import build_dataset
    ds.config.set_seed(0)
    cfg = {"type": "mindrecord", "path": f"{data}/train.mindrecord0", "num_classes": 2, "one_hot": True,
           "train": {"batch_size": 8, "transforms": [{"type": "HWC2CHW"}],
                     "batch_transforms": [{"type": "MixUpBatch", "alpha": 1.0}]}}
    batch = next(build_dataset(cfg, "train").create_dict_iterator(output_numpy=True))
    labels = batch["label"]
    assert labels.shape == (8, 2) and labels.dtype == np.float32
    np.testing.assert_allclose(labels.sum(axis=1), 1.0, rtol=1e-5)
    assert ((labels > 0.01) & (labels < 0.99)).any()          # mixed, not one-hot any more
    assert batch["image"].shape == (8, 3, 32, 32)


def test_batch_transform_without_one_hot_is_a_user_error(data):
    done = run_main("+recipe=cifar10_mindrecord", *FAST, f"dataset.train.path={data}/train.mindrecord0",
                  f"dataset.eval.path={data}/test.mindrecord", "+dataset.train.batch_transforms=[{type: MixUpBatch}]")
    assert_user_error(done, "dataset.train.batch_transforms: MixUpCutMix / MixUpBatch / CutMixBatch need one-hot labels "
                            "(expected dataset.one_hot: true (and a loss with sparse: false))")


def test_debug_modes_without_augmentation_drop_batch_transforms():
    from mm_train.runtime.debug import apply_debug
    config = {"debug": {"mode": "overfit", "augmentation": False, "batch_size": 4},
              "dataset": {"one_hot": True, "train": {"transforms": [{"type": "HWC2CHW"}],
                                                     "batch_transforms": [{"type": "MixUpBatch"}]}, "eval": {}},
              "train": {}}
    out = apply_debug(config)
    assert "batch_transforms" not in out["dataset"]["train"]
    assert out["dataset"]["train"]["transforms"] == [{"type": "HWC2CHW"}]
    assert config["dataset"]["train"]["batch_transforms"] == [{"type": "MixUpBatch"}]   # the input is unchanged
