"""The quickstart job written by hand in plain MindSpore: the baseline of bench/overhead.py.

Same data, transforms, network, loss, optimizer, schedule, loss monitor,
per-epoch evaluation and per-epoch checkpoint (the last 3 kept) as
``python run.py +recipe=quickstart``.

    python bench/plain_quickstart.py [EPOCHS] [CHECKPOINT_DIR]
"""
import os
import sys

os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")
os.environ.setdefault("GLOG_v", "3")

import math  # noqa: E402
from collections import OrderedDict  # noqa: E402
from pathlib import Path  # noqa: E402

import mindspore as ms  # noqa: E402
import mindspore.dataset as ds  # noqa: E402
import mindspore.dataset.transforms as T  # noqa: E402
import mindspore.dataset.vision as vision  # noqa: E402
import numpy as np  # noqa: E402
from mindspore import nn  # noqa: E402
from mindspore.train import Callback, CheckpointConfig, LossMonitor, Model, ModelCheckpoint  # noqa: E402

DIGITS = Path(__file__).resolve().parent.parent / "mm_train" / "bundled" / "digits"


def dataset(name, batch_size, shuffle, drop_remainder):
    data = ds.MindDataset(str(DIGITS / name), columns_list=["image", "label"], shuffle=shuffle,
                          num_parallel_workers=1)
    data = data.map([vision.Decode(), vision.Rescale(1 / 255, 0.0), vision.HWC2CHW()], "image",
                    num_parallel_workers=1)
    data = data.map(T.TypeCast(ms.int32), "label", num_parallel_workers=1)
    return data.batch(batch_size, drop_remainder=drop_remainder)


def conv_bn_relu(cin, cout, stride):
    return nn.SequentialCell(OrderedDict([("conv", nn.Conv2d(cin, cout, 3, stride=stride, pad_mode="same")),
                                          ("bn", nn.BatchNorm2d(cout)), ("relu", nn.ReLU())]))


def cosine_lr(total, per_epoch, lr_init=0.01, lr_max=0.1, warmup_epochs=1):
    warmup = warmup_epochs * per_epoch
    return np.array([lr_init + (lr_max - lr_init) * i / warmup if i < warmup else
                     lr_max * (1 + math.cos(math.pi * (i - warmup) / (total - warmup))) / 2
                     for i in range(total)], np.float32)


class EvalEachEpoch(Callback):
    def __init__(self, model, data):
        self.model, self.data = model, data

    def on_train_epoch_end(self, run_context):
        print("eval:", self.model.eval(self.data, dataset_sink_mode=False), flush=True)


def main(epochs=10, checkpoints="plain_checkpoints"):
    ms.set_device("CPU")
    ms.set_context(mode=ms.GRAPH_MODE)
    ms.set_seed(42)
    ds.config.set_seed(42)
    np.random.seed(42)
    train = dataset("train.mindrecord", 32, True, True)
    test = dataset("test.mindrecord", 120, False, False)
    net = nn.SequentialCell(OrderedDict([("conv1", conv_bn_relu(3, 32, 1)), ("conv2", conv_bn_relu(32, 64, 2)),
                                         ("flatten", nn.Flatten()), ("fc", nn.Dense(1024, 10))]))
    params = net.trainable_params()
    decay = [p for p in params if not any(s in p.name for s in ("gamma", "beta", "bias"))]
    rest = [p for p in params if any(s in p.name for s in ("gamma", "beta", "bias"))]
    steps = train.get_dataset_size()
    optimizer = nn.Momentum([{"params": decay, "weight_decay": 1e-4}, {"params": rest, "weight_decay": 0.0},
                             {"order_params": params}], ms.Tensor(cosine_lr(epochs * steps, steps)), 0.9)
    model = Model(net, nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean"), optimizer,
                  metrics={"acc": nn.Accuracy(), "loss": nn.Loss()})
    save = ModelCheckpoint("quickstart", checkpoints, CheckpointConfig(save_checkpoint_steps=steps, keep_checkpoint_max=3))
    model.train(epochs, train, callbacks=[LossMonitor(1), EvalEachEpoch(model, test), save], dataset_sink_mode=False)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10, sys.argv[2] if len(sys.argv) > 2 else "plain_checkpoints")
