"""Where a steady training step of ResNet-18 goes, against what this CPU can do at most.

    python bench/step_profile.py [--steps 24] [--profile-steps 4] [--batch 32]

Issue 16 asked for a steady step >= 1.2x faster than the hand-written script; bench/tuning.py
found no runtime setting that helps. This bench says why, with three measurements in one
process (ONEDNN_MAX_CPU_ISA=AVX2, as device=cpu sets it):

1. the work: multiply-adds of every Conv2d and Dense in the forward pass (from the shapes
   of one PyNative forward pass), x3 for a training step (forward, gradient of the input,
   gradient of the weights);
2. the ceiling: the best float32 rate MindSpore reaches on this machine, a 1024^3 MatMul
   and a 64->64 3x3 convolution at 56x56, in GRAPH mode;
3. the step: plain ``Model.train`` on the resnet18_cifar network (the hand-written script
   of bench/tuning.py), its steady step time, then a MindSpore profiler trace of a few
   steps, the kernel time summed by operator type.

The step's rate against the ceiling is how much any setting could still win without
changing the arithmetic.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")
os.environ.setdefault("GLOG_v", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def network_and_data(batch: int, steps: int, folder: Path):
    import mindspore as ms
    import mindspore.dataset as ds
    import mindspore.dataset.transforms as T
    import mindspore.dataset.vision as vision

    import plain_resnet50 as r
    from mm_train.config.composition import compose_recipe
    from mm_train.data.synthetic import write_cifar10
    from mm_train.jobs import resolve
    from mm_train.nn.builder import build_network
    from mm_train.registry import load_all

    load_all()
    config = resolve(compose_recipe("resnet18_cifar", ["dataset.image_size=32"]))
    network, _ = build_network(config["network"])
    cifar = write_cifar10(folder / "cifar-10-batches-bin")
    train = ds.Cifar10Dataset(str(cifar), usage="train", shuffle=True, num_parallel_workers=2,
                              num_samples=batch * steps)
    train = train.map([vision.RandomCrop(32, padding=4), vision.RandomHorizontalFlip(0.5),
                       vision.Rescale(1 / 255, 0.0), vision.Normalize(r.MEAN, r.STD), vision.HWC2CHW()],
                      "image", num_parallel_workers=2)
    train = train.map(T.TypeCast(ms.int32), "label", num_parallel_workers=2).batch(batch, True)
    return network, train


def forward_macs(network, batch: int) -> tuple[int, list[tuple[str, int]]]:
    """Multiply-adds of the forward pass, per Conv2d / Dense, from one PyNative pass."""
    import mindspore as ms
    import numpy as np
    from mindspore import nn

    ms.set_context(mode=ms.PYNATIVE_MODE)
    rows, handles = [], []

    def hook(name):
        def count(cell, inputs, output):
            out = int(np.prod(output.shape))
            if isinstance(cell, nn.Conv2d):
                kh, kw = cell.kernel_size
                rows.append((name, out * cell.in_channels // cell.group * kh * kw))
            else:
                rows.append((name, out * cell.in_channels))
        return count

    for name, cell in network.cells_and_names():
        if isinstance(cell, (nn.Conv2d, nn.Dense)):
            handles.append(cell.register_forward_hook(hook(name)))
    network.set_train(False)
    network(ms.Tensor(np.zeros((batch, 3, 32, 32), np.float32)))
    for handle in handles:
        handle.remove()
    ms.set_context(mode=ms.GRAPH_MODE)
    return sum(m for _, m in rows), rows


def ceiling(repeats: int = 20) -> dict[str, float]:
    """GFLOP/s of a large MatMul and a large 3x3 convolution (the best this build does here)."""
    import mindspore as ms
    import numpy as np
    from mindspore import nn, ops

    class Mm(nn.Cell):
        def construct(self, a, b):
            return ops.matmul(a, b)

    out = {}
    n = 1024
    a = ms.Tensor(np.random.rand(n, n).astype(np.float32))
    cases = {"MatMul 1024x1024x1024": (Mm(), (a, a), 2 * n ** 3)}
    conv = nn.Conv2d(64, 64, 3, pad_mode="same", has_bias=False)
    x = ms.Tensor(np.random.rand(32, 64, 56, 56).astype(np.float32))
    cases["Conv2d 64->64 3x3, 32x64x56x56"] = (conv, (x,), 2 * 32 * 64 * 56 * 56 * 64 * 9)
    for name, (cell, args, flops) in cases.items():
        cell(*args).asnumpy()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            cell(*args).asnumpy()
            times.append(time.perf_counter() - start)
        out[name] = flops / min(times) / 1e9
    return out


def step_times(network, train, steps: int):
    """Each step's time (s), the loss after the last one, and the Model (profiled next)."""
    import numpy as np
    from mindspore import nn
    from mindspore.train import Callback, Model

    optimizer = nn.Momentum(network.trainable_params(), 0.01, 0.9, weight_decay=1e-4)
    model = Model(network, nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean"), optimizer)

    class Times(Callback):
        def __init__(self):
            self.times, self.t, self.loss = [], time.perf_counter(), None

        def on_train_step_end(self, run_context):
            now = time.perf_counter()
            self.times.append(now - self.t)
            self.t = now
            self.loss = float(np.asarray(run_context.original_args().net_outputs.asnumpy()).reshape(-1)[0])

    timer = Times()
    model.train(1, train, callbacks=[timer], dataset_sink_mode=False)
    return timer.times, timer.loss, model


def profile(model, train, folder: Path) -> dict[str, float]:
    """Kernel time (s) by operator type over the profiled steps, from MindSpore's CPU profiler trace."""
    from mindspore.profiler import ProfilerActivity, profile as ms_profile, tensorboard_trace_handler

    with ms_profile(activities=[ProfilerActivity.CPU], on_trace_ready=tensorboard_trace_handler(str(folder))):
        model.train(1, train, dataset_sink_mode=False)
    traces = sorted(folder.rglob("trace_view.json"))
    if not traces:
        raise SystemExit(f"the profiler wrote no trace_view.json under {folder}: {sorted(folder.rglob('*'))[:20]}")
    events = json.loads(traces[-1].read_text())
    events = events.get("traceEvents", events) if isinstance(events, dict) else events
    kernels = {e["pid"] for e in events if e.get("ph") == "M" and e.get("name") == "process_name"
               and e.get("args", {}).get("name") == "CPU OP"}     # the other process holds the scope spans
    by_type = collections.Counter()
    for event in events:
        if event.get("ph") == "X" and event.get("pid") in kernels:
            kind = str(event["name"]).rsplit("/", 1)[-1].split("-op")[0]
            by_type[kind] += float(event["dur"]) / 1e6
    return dict(by_type)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=24)
    parser.add_argument("--profile-steps", type=int, default=4)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()

    import mindspore as ms
    ms.set_device("CPU")
    ms.set_seed(42)
    with tempfile.TemporaryDirectory(prefix="mm_train_step_profile_") as tmp:
        network, train = network_and_data(args.batch, args.steps, Path(tmp))
        macs, rows = forward_macs(network, args.batch)
        best = ceiling()
        times, loss, model = step_times(network, train, args.steps)
        steady = statistics.median(times[3:])
        _, small = network_and_data(args.batch, args.profile_steps, Path(tmp) / "p")
        kinds = profile(model, small, Path(tmp) / "trace")

    step_flops = 3 * 2 * macs
    print(f"ResNet-18 (resnet18_cifar), 32x32, batch {args.batch}, ONEDNN_MAX_CPU_ISA="
          f"{os.environ['ONEDNN_MAX_CPU_ISA']}; 1-min load average at the end {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores\n")
    print(f"{'work per training step':<44} {step_flops / 1e9:>9.2f} GFLOP  (forward {2 * macs / 1e9:.2f} GFLOP x3)")
    print(f"{'steady step (median of steps 4..%d)' % len(times):<44} {steady * 1e3:>9.1f} ms     "
          f"(min {min(times[3:]) * 1e3:.1f}, loss after {loss:.5f})")
    rate = step_flops / steady / 1e9
    print(f"{'achieved by the step':<44} {rate:>9.1f} GFLOP/s")
    for name, value in best.items():
        print(f"{'ceiling: ' + name:<44} {value:>9.1f} GFLOP/s  (step / this: {rate / value:.2f})")
    total = sum(kinds.values())
    print(f"\nprofiler: kernel time by operator type over {args.profile_steps} steps "
          f"({total:.2f} s, {total / args.profile_steps * 1e3:.0f} ms a step)")
    print(f"{'operator':<44} {'ms/step':>9} {'share':>7}")
    for kind, seconds in sorted(kinds.items(), key=lambda kv: -kv[1])[:15]:
        print(f"{kind:<44} {seconds / args.profile_steps * 1e3:>9.1f} {seconds / total:>7.1%}")
    print("\nlargest layers (forward multiply-adds):")
    for name, m in sorted(rows, key=lambda r: -r[1])[:5]:
        print(f"  {name:<42} {m / 1e6:>9.1f} M")


if __name__ == "__main__":
    main()
