"""Runtime settings a user would not set, measured on the hand-written training loop.

    python bench/tuning.py [--repeats 2] [--steps 30] [--nets quickstart resnet18] [--settings ...]

Each setting runs in a fresh process (alternating with the others, in a rotating
order) that trains with plain MindSpore ``Model.train`` for ``--steps`` steps:

- ``quickstart``: the quickstart CNN on the bundled digits (bench/plain_quickstart.py's
  network and pipeline), batch 32;
- ``resnet18``: the resnet18_cifar recipe's network (built by mm_train's builder: the
  zoo's ResNet-18) on synthetic CIFAR-10 files at 32x32, batch 32, the CIFAR
  augmentation, Momentum.

Steady step time = median of the step times after the first 3 (compile and warm-up).
Every run also prints the loss after its last step: a setting that changes it (beyond
float rounding) is not a candidate for a default. ``baseline`` is the hand-written
script as written (no setting); ratio = baseline step time / setting's step time
(> 1: faster).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BATCH = 32

SETTINGS = {
    "baseline": "nothing set (the hand-written script)",
    "threads1": "ms.device_context.cpu.op_tuning.threads_num(1)",
    "threads2": "ms.device_context.cpu.op_tuning.threads_num(2)  (= cores)",
    "threads4": "ms.device_context.cpu.op_tuning.threads_num(4)",
    "interop1": "ms.set_context(inter_op_parallel_num=1)",
    "affinity": "mindspore.runtime.set_cpu_affinity(True)",
    "jit_O1": "ms.set_context(jit_config={'jit_level': 'O1'})",
    "graph_kernel": "ms.set_context(enable_graph_kernel=True)",
    "prefetch2": "mindspore.dataset.config.set_prefetch_size(2)",
    "workers1": "num_parallel_workers=1 in the pipeline (baseline: 2)",
    "omp1": "OMP_NUM_THREADS=1 in the environment",
}


def apply(setting: str) -> None:
    import mindspore as ms
    import mindspore.dataset as ds
    if setting.startswith("threads"):   # what device.cpu_threads sets (set_context(runtime_num_threads) is its old name)
        ms.device_context.cpu.op_tuning.threads_num(int(setting[7:]))
    elif setting == "interop1":
        ms.set_context(inter_op_parallel_num=1)
    elif setting == "affinity":
        ms.runtime.set_cpu_affinity(True)
    elif setting == "jit_O1":
        ms.set_context(jit_config={"jit_level": "O1"})
    elif setting == "graph_kernel":
        ms.set_context(enable_graph_kernel=True)
    elif setting == "prefetch2":
        ds.config.set_prefetch_size(2)


def child(net: str, setting: str, steps: int, data: str) -> dict:
    os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")
    os.environ.setdefault("GLOG_v", "3")
    sys.path.insert(0, str(ROOT / "bench"))
    sys.path.insert(0, str(ROOT))
    import mindspore as ms
    import mindspore.dataset as ds
    import numpy as np
    from mindspore import nn
    from mindspore.train import Callback, Model

    ms.set_device("CPU")
    ms.set_context(mode=ms.GRAPH_MODE)
    ms.set_seed(42)
    ds.config.set_seed(42)
    np.random.seed(42)
    apply(setting)
    workers = 1 if setting == "workers1" else 2
    if net == "quickstart":
        import plain_quickstart as q
        from collections import OrderedDict
        train = q.dataset("train.mindrecord", BATCH, True, True)
        network = nn.SequentialCell(OrderedDict([("conv1", q.conv_bn_relu(3, 32, 1)),
                                                 ("conv2", q.conv_bn_relu(32, 64, 2)),
                                                 ("flatten", nn.Flatten()), ("fc", nn.Dense(1024, 10))]))
        if workers != 1:   # plain_quickstart's pipeline uses 1 worker: rebuild with 2
            import mindspore.dataset.transforms as T
            import mindspore.dataset.vision as vision
            train = ds.MindDataset(str(q.DIGITS / "train.mindrecord"), columns_list=["image", "label"],
                                   shuffle=True, num_parallel_workers=workers)
            train = train.map([vision.Decode(), vision.Rescale(1 / 255, 0.0), vision.HWC2CHW()], "image",
                              num_parallel_workers=workers)
            train = train.map(T.TypeCast(ms.int32), "label", num_parallel_workers=workers).batch(BATCH, True)
    else:
        import plain_resnet50 as r
        from mm_train.config.composition import compose_recipe
        from mm_train.jobs import resolve
        from mm_train.registry import load_all as load_components
        from mm_train.nn.builder import build_network
        load_components()
        config = resolve(compose_recipe("resnet18_cifar", ["dataset.image_size=32"]))
        network, _ = build_network(config["network"])
        train = ds.Cifar10Dataset(data, usage="train", shuffle=True, num_parallel_workers=workers,
                                  num_samples=BATCH * steps)
        import mindspore.dataset.transforms as T
        import mindspore.dataset.vision as vision
        train = train.map([vision.RandomCrop(32, padding=4), vision.RandomHorizontalFlip(0.5), vision.Resize(32),
                           vision.Rescale(1 / 255, 0.0), vision.Normalize(r.MEAN, r.STD), vision.HWC2CHW()],
                          "image", num_parallel_workers=workers)
        train = train.map(T.TypeCast(ms.int32), "label", num_parallel_workers=workers).batch(BATCH, True)
    optimizer = nn.Momentum(network.trainable_params(), 0.01, 0.9, weight_decay=1e-4)
    model = Model(network, nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean"), optimizer)

    class Times(Callback):
        def __init__(self):
            self.times, self.loss, self.t = [], None, time.perf_counter()

        def on_train_step_end(self, run_context):
            now = time.perf_counter()
            self.times.append(now - self.t)
            self.t = now
            self.loss = float(np.asarray(run_context.original_args().net_outputs.asnumpy()).reshape(-1)[0])
            if len(self.times) >= steps:
                run_context.request_stop()

    timer = Times()
    epochs = max(1, -(-steps // train.get_dataset_size()))
    model.train(epochs, train, callbacks=[timer], dataset_sink_mode=False)
    return {"step": statistics.median(timer.times[3:]), "first": timer.times[0], "loss": timer.loss}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--nets", nargs="+", default=["quickstart", "resnet18"], choices=["quickstart", "resnet18"])
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        net, setting, steps = args.child
        print("RESULT " + json.dumps(child(net, setting, int(steps), args.data)), flush=True)
        return
    from mm_train.data.synthetic import write_cifar10
    settings = ["baseline", *(s for s in args.settings if s != "baseline")]
    tables = {}
    with tempfile.TemporaryDirectory(prefix="mm_train_tuning_") as tmp:
        cifar = write_cifar10(Path(tmp) / "cifar-10-batches-bin")
        for net in args.nets:
            runs = {s: [] for s in settings}
            for i in range(args.repeats):
                order = settings[i % len(settings):] + settings[:i % len(settings)]   # rotate the order
                for setting in order:
                    env = {**os.environ, "PYTHONPATH": str(ROOT)}
                    if setting == "omp1":
                        env["OMP_NUM_THREADS"] = "1"
                    done = subprocess.run([sys.executable, __file__, "--child", net, setting, str(args.steps),
                                           "--data", str(cifar)], capture_output=True, text=True, env=env,
                                          cwd=tmp)   # graph_kernel leaves akg_kernel_meta/ in the cwd
                    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
                    if done.returncode or not lines:
                        error = (done.stderr.strip().splitlines() or ["?"])[-1][:100]
                        runs[setting].append({"error": error})
                    else:
                        runs[setting].append(json.loads(lines[-1][7:]))
                    print(f"  {net} {setting}: {runs[setting][-1]}", file=sys.stderr, flush=True)
            tables[net] = runs
    print(f"steady step time, medians of {args.repeats} runs x {args.steps} steps; 1-min load average at the end "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for net, runs in tables.items():
        ok = [r for r in runs["baseline"] if "step" in r]
        base = statistics.median(r["step"] for r in ok) if ok else float("nan")
        base_loss = ok[0]["loss"] if ok else float("nan")
        print(f"\n{net}:\n{'setting':<14} {'step (ms)':>10} {'min-max (ms)':>15} {'ratio':>7} {'loss after':>11}  what")
        for setting, results in runs.items():
            good = [r for r in results if "step" in r]
            if not good:
                print(f"{setting:<14} {'fails':>10} {'':>15} {'':>7} {'':>11}  {SETTINGS[setting]}: {results[0]['error']}")
                continue
            step = statistics.median(r["step"] for r in good)
            spread = f"{min(r['step'] for r in good) * 1e3:.1f}-{max(r['step'] for r in good) * 1e3:.1f}"
            same = "same" if abs(good[0]["loss"] - base_loss) <= 1e-5 * max(1.0, abs(base_loss)) else \
                f"{good[0]['loss']:.5f}"
            print(f"{setting:<14} {step * 1e3:>10.1f} {spread:>15} {base / step:>7.2f} {same:>11}  {SETTINGS[setting]}")


if __name__ == "__main__":
    main()
