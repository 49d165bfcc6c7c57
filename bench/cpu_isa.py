"""Training steps/s with mm_train's default ``device=cpu`` oneDNN setting vs plain MindSpore.

    python bench/cpu_isa.py [--repeats 3]     # about 10 minutes on 2 cores

oneDNN reads ONEDNN_MAX_CPU_ISA when MindSpore loads, so every measurement is a
fresh worker process; the two settings alternate so that machine noise hits both.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NETWORKS = {
    "quickstart CNN (3x8x8, batch 32)": {
        "batch": 32, "steps": 40,
        "network": {"input_shape": [3, 8, 8], "layers": {
            "conv1": {"type": "ConvBNReLU", "out_channels": 32},
            "conv2": {"type": "ConvBNReLU", "out_channels": 64, "stride": 2},
            "flatten": {"type": "Flatten"}, "fc": {"type": "Dense", "out_channels": 10}}}},
    "ResNet-style (3x32x32, batch 16)": {
        "batch": 16, "steps": 4,
        "network": {"input_shape": [3, 32, 32], "layers": {
            "conv1": {"type": "Conv2d", "out_channels": 64, "kernel_size": 3},
            "bn1": {"type": "BatchNorm2d"}, "relu": {"type": "ReLU"},
            "layer1": {"type": "Stage", "block": "ResidualBlock", "repeat": 2, "out_channels": 256},
            "layer2": {"type": "Stage", "block": "ResidualBlock", "repeat": 2, "out_channels": 512, "stride": 2},
            "pool": {"type": "GlobalAvgPool"}, "fc": {"type": "Dense", "out_channels": 10}}}},
}
SETTINGS = {"mm_train device=cpu (AVX2)": "AVX2", "plain MindSpore default": None}


def worker(name: str) -> None:
    """Train the network's ``steps`` steps on random data; print steps/s as JSON."""
    import mindspore as ms
    import numpy as np
    from mindspore import nn

    sys.path.insert(0, str(ROOT))
    from mm_train.nn.builder import build_network

    ms.set_device("CPU")
    ms.set_context(mode=ms.GRAPH_MODE)
    spec = NETWORKS[name]
    net, _ = build_network(spec["network"])
    step = nn.TrainOneStepCell(nn.WithLossCell(net, nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")),
                               nn.Momentum(net.trainable_params(), 0.01, 0.9))
    rng = np.random.default_rng(0)
    x = ms.Tensor(rng.standard_normal((spec["batch"], *spec["network"]["input_shape"]), dtype=np.float32))
    y = ms.Tensor(rng.integers(0, 10, spec["batch"]).astype(np.int32))
    for _ in range(2):                       # compile and warm up
        step(x, y).asnumpy()
    steps = spec["steps"]
    start = time.perf_counter()
    for _ in range(steps):
        loss = step(x, y)
    loss.asnumpy()
    print(json.dumps({"steps_per_s": steps / (time.perf_counter() - start)}))


def measure(name: str, isa: str | None) -> float:
    env = {k: v for k, v in os.environ.items() if k != "ONEDNN_MAX_CPU_ISA"}
    env["GLOG_v"] = "3"
    if isa:
        env["ONEDNN_MAX_CPU_ISA"] = isa
    out = subprocess.run([sys.executable, __file__, "--worker", name], env=env,
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])["steps_per_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--worker")
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker)
    print(f"{'network':<36} {'setting':<28} {'steps/s (median)':>17}  runs")
    for name in NETWORKS:
        runs: dict[str, list[float]] = {s: [] for s in SETTINGS}
        for _ in range(args.repeats):
            for setting, isa in SETTINGS.items():
                runs[setting].append(measure(name, isa))
        medians = {s: statistics.median(v) for s, v in runs.items()}
        for setting, values in runs.items():
            print(f"{name:<36} {setting:<28} {medians[setting]:>17.2f}  " + " ".join(f"{v:.2f}" for v in values))
        fast, plain = medians.values()
        print(f"{name:<36} {'ratio (mm_train / plain)':<28} {fast / plain:>16.1f}x\n")


if __name__ == "__main__":
    main()
