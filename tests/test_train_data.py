"""Each skeleton reader trains a few steps and evaluates; resnet50_cifar runs 2 steps."""
import io
import json

import numpy as np
from PIL import Image

import pytest

from helpers import read_metrics, run_main

SMALL_CNN = """# @package _global_
# A small CNN on CIFAR-10 for the tests.
dataset:
  type: cifar10
  path: {path}
  num_classes: 10
  train:
    batch_size: 16
    limit: 64
    transforms: [{{type: RandomHorizontalFlip}}, {{type: Rescale, rescale: 0.0039215686, shift: 0.0}}, {{type: HWC2CHW}}]
  eval:
    batch_size: 16
    limit: 32
    transforms: [{{type: Rescale, rescale: 0.0039215686, shift: 0.0}}, {{type: HWC2CHW}}]
network:
  input_shape: [3, 32, 32]
  layers:
    conv: {{type: ConvBNReLU, out_channels: 8, stride: 2}}
    pool: {{type: GlobalAvgPool}}
    fc: {{type: Dense, out_channels: 10}}
loss: {{type: SoftmaxCrossEntropyWithLogits}}
optimizer: {{type: Momentum, momentum: 0.9}}
lr_schedule: {{type: warmup_cosine, lr_max: 0.05, warmup_epochs: 1}}
train: {{epochs: 2}}
"""


def test_cifar10_trains_and_evaluates(tmp_path, cifar_dir):
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    (recipes / "small_cifar.yaml").write_text(SMALL_CNN.format(path=cifar_dir))
    result = run_main("+recipe=small_cifar", f"hydra.run.dir={tmp_path / 'run'}",
                    env={"MM_TRAIN_RECIPE_PATH": str(recipes)})
    assert result.returncode == 0, result.stdout + result.stderr
    metrics = read_metrics(tmp_path / "run")
    assert [h["epoch"] for h in metrics["history"]] == [1, 2]
    assert [h["step"] for h in metrics["history"]] == [4, 8]        # 64 samples / batch 16
    assert 0.0 <= metrics["final"]["acc"] <= 1.0 and np.isfinite(metrics["final"]["loss"])


def write_digits_like_mindrecord(path, count, seed):
    """PNG-encoded 8x8 grey images whose brightness encodes the label, as a MindRecord file."""
    from mindspore.mindrecord import FileWriter
    rng = np.random.default_rng(seed)
    writer = FileWriter(str(path), shard_num=1, overwrite=True)
    writer.add_schema({"image": {"type": "bytes"}, "label": {"type": "int32"}}, "test")
    rows = []
    for i in range(count):
        label = i % 10
        pixels = np.clip(label * 25 + rng.integers(0, 10, (8, 8)), 0, 255).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels, mode="L").save(buffer, format="PNG")
        rows.append({"image": buffer.getvalue(), "label": label})
    writer.write_raw_data(rows)
    writer.commit()
    return path


def test_mindrecord_trains_and_evaluates(tmp_path):
    train = write_digits_like_mindrecord(tmp_path / "train.mindrecord", 96, 0)
    test = write_digits_like_mindrecord(tmp_path / "test.mindrecord", 40, 1)
    result = run_main("+recipe=quickstart", f"dataset.train.path={train}", f"dataset.eval.path={test}",
                    "train.epochs=2", "dataset.eval.batch_size=20", f"hydra.run.dir={tmp_path / 'run'}")
    assert result.returncode == 0, result.stdout + result.stderr
    metrics = read_metrics(tmp_path / "run")
    assert [h["step"] for h in metrics["history"]] == [3, 6]        # 96 samples / batch 32
    assert set(metrics["final"]) == {"acc", "loss"}


@pytest.mark.slow   # the full recipe network: ResNet-50's graph compile is most of a minute on 2 cores
def test_resnet50_cifar_runs_two_steps(tmp_path, cifar_dir):
    run_dir = tmp_path / "run"
    result = run_main("+recipe=resnet50_cifar", f"paths.data={cifar_dir.parent}", "dataset.image_size=32",
                    "dataset.train.batch_size=2", "+dataset.train.limit=4", "dataset.eval.batch_size=2",
                    "+dataset.eval.limit=2", "train.epochs=1", f"hydra.run.dir={run_dir}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (run_dir / "checkpoints" / "resnet50_cifar-1_2.ckpt").is_file()
    metrics = read_metrics(run_dir)
    assert metrics["history"][0]["step"] == 2
    resolved = (run_dir / "config.yaml").read_text()
    assert "scale: 1024" in resolved and "repeat: 6" in resolved
    assert json.loads((run_dir / "run_info.json").read_text())["recipe"] == "resnet50_cifar"
