"""What ``train.ema_decay`` costs per optimizer step: the compiled train step with and without the EMA.

    python bench/ema_cost.py [--steps 60] [--repeats 5]

Builds each network with mm_train's own builder and train step (Momentum, no loss scale),
feeds random batches, and times ``steps`` calls of the compiled step after a warm-up, the
two variants alternating ``repeats`` times so that machine noise hits both. Prints the
median ms per step and the ratio (with EMA / without).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")   # mm_train's device=cpu default, before MindSpore loads
os.environ.setdefault("GLOG_v", "3")

NETWORKS = {
    "quickstart CNN (3x8x8, batch 32)": (32, {"input_shape": [3, 8, 8], "layers": {
        "conv1": {"type": "ConvBNReLU", "out_channels": 32, "kernel_size": 3},
        "conv2": {"type": "ConvBNReLU", "out_channels": 64, "kernel_size": 3, "stride": 2},
        "flatten": {"type": "Flatten"}, "fc": {"type": "Dense", "out_channels": 10}}}),
    "wide MLP (3x32x32 -> 2048 -> 2048 -> 10, batch 32)": (32, {"input_shape": [3, 32, 32], "layers": {
        "flatten": {"type": "Flatten"}, "fc1": {"type": "Dense", "out_channels": 2048}, "relu1": {"type": "ReLU"},
        "fc2": {"type": "Dense", "out_channels": 2048}, "relu2": {"type": "ReLU"},
        "fc": {"type": "Dense", "out_channels": 10}}}),
}


def build(spec, ema_decay):
    from mindspore import nn

    from mm_train.learning.amp import LossScale
    from mm_train.nn.builder import build_network
    from mm_train.learning.train_step import build_train_network
    network, _ = build_network(spec)
    optimizer = nn.Momentum(network.trainable_params(), 0.01, 0.9)
    loss = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")
    step = build_train_network(network, loss, optimizer, LossScale(), ema_decay=ema_decay)
    return step, sum(p.size for p in network.trainable_params())


def time_steps(step, data, label, steps: int) -> float:
    step(data, label).asnumpy()
    start = time.perf_counter()
    for _ in range(steps):
        out = step(data, label)
    out.asnumpy()   # wait for the last step
    return (time.perf_counter() - start) / steps * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    import mindspore as ms
    import numpy as np
    ms.set_device("CPU")
    ms.set_context(mode=ms.GRAPH_MODE)
    rng = np.random.default_rng(0)
    rows = []
    for name, (batch, spec) in NETWORKS.items():
        data = ms.Tensor(rng.random((batch, *spec["input_shape"]), dtype=np.float32))
        label = ms.Tensor(rng.integers(0, 10, batch).astype(np.int32))
        (plain, params), (ema, _) = build(spec, None), build(spec, 0.999)
        times = {"plain": [], "ema": []}
        for _ in range(args.repeats):
            times["plain"].append(time_steps(plain, data, label, args.steps))
            times["ema"].append(time_steps(ema, data, label, args.steps))
        without, with_ema = statistics.median(times["plain"]), statistics.median(times["ema"])
        rows.append((name, params, without, with_ema, with_ema / without))
    print(f"{'network':<52} {'params':>10} {'ms/step':>9} {'+EMA':>9} {'ratio':>7}")
    for name, params, without, with_ema, ratio in rows:
        print(f"{name:<52} {params:>10,} {without:>9.2f} {with_ema:>9.2f} {ratio:>7.3f}")
    print(f"(median of {args.repeats} x {args.steps} steps; CPU, graph mode, "
          f"ONEDNN_MAX_CPU_ISA={os.environ.get('ONEDNN_MAX_CPU_ISA')})")


if __name__ == "__main__":
    main()
