"""The resnet50_cifar job written by hand in plain MindSpore, the way the model zoo's train.py does it:
the second baseline of bench/overhead.py (``--job resnet50_cifar``).

Same CIFAR-10 reader and transforms, ResNet-50 v1.5 (zoo names and initialisers), loss,
Momentum with weight decay off for BN and bias, warmup + poly learning rate, fixed loss
scale 1024, loss monitor and per-epoch evaluation as ``python run.py +recipe=resnet50_cifar``;
the peak rate is 0.01 from 0.001 on both sides (bench/overhead.py overrides the recipe's 0.1,
at which its synthetic images make the loss diverge within 5 steps).

    python bench/plain_resnet50.py DATA_DIR EPOCHS IMAGE_SIZE LIMIT [resnet18]

With ``resnet18``: the resnet18_cifar recipe's network by hand instead (the zoo's ResNet-18:
7x7 stem padded by 3, max-pool padded by 1, two BasicBlocks a stage), the rest unchanged
(bench/overhead.py ``--job resnet18_cifar``).
"""
import os
import sys

os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")
os.environ.setdefault("GLOG_v", "3")

import mindspore as ms  # noqa: E402
import mindspore.dataset as ds  # noqa: E402
import mindspore.dataset.transforms as T  # noqa: E402
import mindspore.dataset.vision as vision  # noqa: E402
import numpy as np  # noqa: E402
from mindspore import nn, ops  # noqa: E402
from mindspore.common.initializer import HeNormal, HeUniform, Zero, initializer  # noqa: E402
from mindspore.train import FixedLossScaleManager, LossMonitor, Model  # noqa: E402
from plain_quickstart import EvalEachEpoch  # noqa: E402  (bench/ is on sys.path as the script's folder)

MEAN, STD = [0.4914, 0.4822, 0.4465], [0.2023, 0.1994, 0.2010]


def dataset(path, usage, batch_size, image_size, limit, train):
    data = ds.Cifar10Dataset(path, usage=usage, shuffle=train, num_parallel_workers=2, num_samples=limit)
    augment = [vision.RandomCrop(32, padding=4), vision.RandomHorizontalFlip(0.5)] if train else []
    data = data.map(augment + [vision.Resize(image_size), vision.Rescale(1 / 255, 0.0), vision.Normalize(MEAN, STD),
                               vision.HWC2CHW()], "image", num_parallel_workers=2)
    data = data.map(T.TypeCast(ms.int32), "label", num_parallel_workers=2)
    return data.batch(batch_size, drop_remainder=train)


def conv(cin, cout, kernel, stride=1):
    return nn.Conv2d(cin, cout, kernel, stride=stride, pad_mode="same")


def bn(channels):
    return nn.BatchNorm2d(channels, eps=1e-4, momentum=0.9)


class ResidualBlock(nn.Cell):
    def __init__(self, cin, cout, stride):
        super().__init__()
        mid = cout // 4
        self.conv1, self.bn1 = conv(cin, mid, 1), bn(mid)
        self.conv2, self.bn2 = conv(mid, mid, 3, stride), bn(mid)
        self.conv3, self.bn3 = conv(mid, cout, 1), bn(cout)
        self.relu = nn.ReLU()
        self.down_sample = stride != 1 or cin != cout
        if self.down_sample:
            self.down_sample_layer = nn.SequentialCell([conv(cin, cout, 1, stride), bn(cout)])

    def construct(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.down_sample:
            identity = self.down_sample_layer(x)
        return self.relu(out + identity)


class ResNet50(nn.Cell):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1, self.bn1, self.relu = conv(3, 64, 7, 2), bn(64), nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, pad_mode="same")
        cin, layers = 64, []
        for repeat, cout, stride in ((3, 256, 1), (4, 512, 2), (6, 1024, 2), (3, 2048, 2)):
            layers.append(nn.SequentialCell([ResidualBlock(cin if i == 0 else cout, cout, stride if i == 0 else 1)
                                             for i in range(repeat)]))
            cin = cout
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.end_point = nn.Dense(2048, num_classes)

    def construct(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.end_point(ops.mean(x, (2, 3), keep_dims=False))


class BasicBlock(nn.Cell):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, pad_mode="pad", padding=1)
        self.bn1d = bn(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, pad_mode="pad", padding=1)
        self.bn2d = bn(cout)
        self.relu = nn.ReLU()
        self.down_sample = stride != 1 or cin != cout
        if self.down_sample:
            self.down_sample_layer = nn.SequentialCell([conv(cin, cout, 1, stride),
                                                        nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1)])

    def construct(self, x):
        identity = x
        out = self.relu(self.bn1d(self.conv1(x)))
        out = self.bn2d(self.conv2(out))
        if self.down_sample:
            identity = self.down_sample_layer(x)
        return self.relu(out + identity)


class ResNet18(nn.Cell):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, pad_mode="pad", padding=3)
        self.bn1, self.relu = nn.BatchNorm2d(64, eps=1e-5, momentum=0.1), nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, pad_mode="pad", padding=1)
        cin, layers = 64, []
        for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            layers.append(nn.SequentialCell([BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]))
            cin = cout
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.end_point = nn.Dense(512, num_classes)

    def construct(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.end_point(ops.mean(x, (2, 3), keep_dims=False))


def init_weights(net):   # the zoo's: kaiming normal (fan_out) convs, kaiming uniform dense, zero bias
    for _, cell in net.cells_and_names():
        if isinstance(cell, nn.Conv2d):
            cell.weight.set_data(initializer(HeNormal(mode="fan_out", nonlinearity="relu"), cell.weight.shape))
        elif isinstance(cell, nn.Dense):
            cell.weight.set_data(initializer(HeUniform(negative_slope=5 ** 0.5), cell.weight.shape))
            cell.bias.set_data(initializer(Zero(), cell.bias.shape))


def warmup_poly_lr(total, per_epoch, lr_init=0.001, lr_max=0.01, lr_end=0.0, warmup_epochs=5):
    warmup = min(warmup_epochs * per_epoch, total)
    return np.array([lr_init + (lr_max - lr_init) * i / warmup if i < warmup else
                     lr_end + (lr_max - lr_end) * (1 - (i - warmup) / max(1, total - warmup)) ** 2
                     for i in range(total)], np.float32)


def main(path, epochs, image_size, limit, network="resnet50"):
    ms.set_device("CPU")
    ms.set_context(mode=ms.GRAPH_MODE)
    ms.set_seed(42)
    ds.config.set_seed(42)
    np.random.seed(42)
    train = dataset(path, "train", 32, image_size, limit, True)
    test = dataset(path, "test", 32, image_size, max(limit // 4, 32), False)
    net = ResNet18() if network == "resnet18" else ResNet50()
    init_weights(net)
    params = net.trainable_params()
    decay = [p for p in params if not any(s in p.name for s in ("gamma", "beta", "bias"))]
    no_decay = [p for p in params if any(s in p.name for s in ("gamma", "beta", "bias"))]
    steps = train.get_dataset_size()
    optimizer = nn.Momentum([{"params": decay, "weight_decay": 1e-4}, {"params": no_decay, "weight_decay": 0.0},
                             {"order_params": params}], ms.Tensor(warmup_poly_lr(epochs * steps, steps)), 0.9,
                            loss_scale=1024.0)
    model = Model(net, nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean"), optimizer,
                  metrics={"acc": nn.Accuracy(), "loss": nn.Loss()},
                  loss_scale_manager=FixedLossScaleManager(1024.0, drop_overflow_update=False))
    model.train(epochs, train, callbacks=[LossMonitor(1), EvalEachEpoch(model, test)], dataset_sink_mode=False)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), *sys.argv[5:6])
