"""A graph network against the same network as a chain: ResNet-50 (zoo names) both ways.

    python bench/graph_compile.py [--recipe resnet50_cifar] [--batch 8] [--image-size 32]

(a) ``resnet50_cifar`` as written (Stage / ResidualBlock blocks in a SequentialCell);
(b) the same network written out as a graph of Conv2d / BatchNorm2d / ReLU / Add layers with
``inputs`` (the form ``mm-train migrate onnx`` writes: one layer per operator, dotted names such as
``layer1.0.conv1``), with the same parameter names and values.

Prints, for each: layers, build seconds, GRAPH-mode compile + first forward, the forward after it,
one GRAPH-mode training step (compile included), PyNative forward; and the ratios graph / chain.
Both are checked to give the same logits.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def graph_layers(stages=(3, 4, 6, 3), widths=(256, 512, 1024, 2048), num_classes=10) -> dict:
    """ResNet-50 v1.5 (the zoo's names) as one layer per operator."""
    layers = {"conv1": {"type": "Conv2d", "out_channels": 64, "kernel_size": 7, "stride": 2},
              "bn1": {"type": "BatchNorm2d", "eps": 1e-4}, "relu": {"type": "ReLU"},
              "maxpool": {"type": "MaxPool2d", "kernel_size": 3, "stride": 2, "pad_mode": "same"}}
    last = "maxpool"
    for s, (repeat, cout) in enumerate(zip(stages, widths), start=1):
        for b in range(repeat):
            p, mid, stride = f"layer{s}.{b}", cout // 4, (1 if s == 1 or b else 2)
            block_in = last
            for i, (k, c, st) in enumerate([(1, mid, 1), (3, mid, stride), (1, cout, 1)], start=1):
                layers[f"{p}.conv{i}"] = {"type": "Conv2d", "out_channels": c, "kernel_size": k, "stride": st,
                                          **({"inputs": block_in} if i == 1 else {})}
                layers[f"{p}.bn{i}"] = {"type": "BatchNorm2d", "eps": 1e-4}
                if i < 3:
                    layers[f"{p}.relu{i}"] = {"type": "ReLU"}
            short = block_in
            if b == 0:
                layers[f"{p}.down_sample_layer.0"] = {"type": "Conv2d", "out_channels": cout, "kernel_size": 1,
                                                      "stride": stride, "inputs": block_in}
                layers[f"{p}.down_sample_layer.1"] = {"type": "BatchNorm2d", "eps": 1e-4}
                short = f"{p}.down_sample_layer.1"
            layers[f"{p}.add"] = {"type": "Add", "inputs": [f"{p}.bn3", short]}
            layers[f"{p}.out"] = {"type": "ReLU"}
            last = f"{p}.out"
    layers["pool"] = {"type": "GlobalAvgPool"}
    layers["end_point"] = {"type": "Dense", "out_channels": num_classes}
    return layers


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def measure(network: dict, x, y, mode) -> dict:
    import mindspore as ms
    from mindspore import nn
    from mm_train.nn.builder import build_network
    ms.set_context(mode=mode)
    (net, infos), build = timed(lambda: build_network(network))
    row = {"layers": len(infos), "build": build}
    net.set_train(False)
    out, row["first forward"] = timed(lambda: net(x))
    _, row["forward"] = timed(lambda: net(x).asnumpy())
    net.set_train(True)
    step = nn.TrainOneStepCell(nn.WithLossCell(net, nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")),
                               nn.Momentum(net.trainable_params(), 0.01, 0.9))
    _, row["first train step"] = timed(lambda: step(x, y).asnumpy())
    return row, net, out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", default="resnet50_cifar")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--image-size", type=int, default=32, help="dataset.image_size (compile time dominates at 32)")
    args = parser.parse_args(argv)
    import helpers  # noqa: F401  (MindSpore's environment)
    import numpy as np
    import mindspore as ms
    from helpers import compose
    chain_net = compose(args.recipe, f"dataset.image_size={args.image_size}")["network"]
    graph_net = {"input_shape": chain_net["input_shape"], "layers": graph_layers(),
                 "init": chain_net.get("init")}
    graph_net = {k: v for k, v in graph_net.items() if v is not None}
    rng = np.random.default_rng(0)
    x = ms.Tensor(rng.standard_normal((args.batch, *chain_net["input_shape"])).astype(np.float32))
    y = ms.Tensor(rng.integers(0, 10, args.batch).astype(np.int32))
    rows = {}
    ms.set_seed(0)
    rows["chain (GRAPH)"], chain, _ = measure(chain_net, x, y, ms.GRAPH_MODE)
    ms.set_seed(0)
    rows["graph (GRAPH)"], graph, _ = measure(graph_net, x, y, ms.GRAPH_MODE)
    chain_names = sorted(p.name for p in chain.get_parameters())
    graph_names = sorted(p.name for p in graph.get_parameters())
    same_names = chain_names == graph_names
    if same_names:   # the same values: the two must compute the same function
        values = {p.name: p.data for p in chain.get_parameters()}
        for p in graph.get_parameters():
            p.set_data(values[p.name])
        chain.set_train(False), graph.set_train(False)
        diff = float(np.abs(chain(x).asnumpy() - graph(x).asnumpy()).max())
    ms.set_context(mode=ms.PYNATIVE_MODE)
    for name, network in (("chain (PyNative)", chain_net), ("graph (PyNative)", graph_net)):
        rows[name], _, _ = measure(network, x, y, ms.PYNATIVE_MODE)
    cols = ["layers", "build", "first forward", "forward", "first train step"]
    print(f"{args.recipe}, batch {args.batch}, input {tuple(chain_net['input_shape'])}, "
          f"{os.cpu_count()} CPUs; seconds")
    print(f"{'':18}" + "".join(f"{c:>18}" for c in cols))
    for name, row in rows.items():
        print(f"{name:18}" + "".join(f"{row[c]:>18.2f}" if c != "layers" else f"{row[c]:>18}" for c in cols))
    for mode in ("GRAPH", "PyNative"):
        a, b = rows[f"chain ({mode})"], rows[f"graph ({mode})"]
        print(f"ratio graph/chain ({mode}): " + ", ".join(f"{c} {b[c] / a[c]:.2f}x" for c in cols[2:]))
    print(f"same parameter names: {same_names}" + (f"; largest logit difference {diff:.2e}" if same_names else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
