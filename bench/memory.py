"""Peak memory of one training step: mm_train vs a hand-written MindSpore script vs PyTorch.

    python bench/memory.py [--models vit_b_16 convnext_tiny resnet50] [--batch 32] [--steps 4]
                           [--repeats 1] [--cap-gb 14] [--programs mm_train mindspore torch]
    python bench/memory.py --models vit_b_16 --depth 1 --batch 2 --modes graph pynative   # per-block probe
    python bench/memory.py --models vit_b_16 --recompute false   # mm_train's ViT without the recipe's recompute
    python bench/memory.py --models convnext_tiny --modes pynative eager --recompute false   # ConvNeXt-T, the same
    [--torch-python PYTHON]   # default: bench/.venvs/torch, made on first use (bench/venvs.py)

Each (program, model) runs in its own child process, the parent polls the child tree's RSS
(psutil, every 20 ms) and kills it above ``--cap-gb`` (a shared machine). The child builds
the network and optimizer, then calls the train step ``--steps`` times on one in-memory
batch (224x224, 1000 classes) and reports each step: "compile" is the peak RSS up to the end
of the first step (building, graph compilation, first step), "steady" the peak after it;
s/step is the median of the later steps.

- mm_train: the recipe's ``network`` (``recipes/<model>_torchvision.yaml``), loss and
  optimizer built by mm_train (``build_network`` + ``build_training``: the train step
  ``Model`` runs), in the recipe's ``device.mode`` (PyNative for ViT-B/16 and ConvNeXt-T, graph otherwise)
  unless ``--modes`` says;
- mindspore: the same architecture written by hand in plain MindSpore (ViT-B/16 with
  ``nn.MultiheadAttention``-free attention; ResNet-50 from bench/plain_resnet50.py; ConvNeXt-T from
  bench/plain_convnext.py),
  ``nn.TrainOneStepCell``, graph mode unless ``--modes`` says;
- torch: ``torchvision.models.<model>`` in the bench's own venv (bench/venvs.py: ``bench/.venvs/torch``,
  made on first use, or ``--torch-python``; never a project dependency).
The optimizer is the recipe's (AdamW for ViT-B/16 and ConvNeXt-T, Momentum/SGD for ResNet-50).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MS_PYTHON = os.environ.get("MM_TRAIN_PYTHON", sys.executable)   # the python that runs this bench
TORCH_PYTHON = None   # --torch-python; None: bench/venvs.py's default (made on first use)
RECIPES = {"vit_b_16": "vit_b_16_torchvision", "convnext_tiny": "convnext_tiny_torchvision",
           "resnet50": "resnet50_torchvision", "resnet18": "resnet18_torchvision"}


# ----------------------------------------------------------------------------- children
def _report(step: int, seconds: float) -> None:
    print(f"STEP {step} {seconds:.4f}", flush=True)


def _batch(batch: int, size: int, classes: int):
    import numpy as np
    rng = np.random.default_rng(0)
    return (rng.normal(0, 1, (batch, 3, size, size)).astype(np.float32),
            rng.integers(0, classes, batch).astype(np.int32))


def _recipe_config(model: str, depth: int | None, size: int = 224, classes: int = 1000, recompute: str = ""):
    """The recipe as ``run.py +recipe=<model>_torchvision`` composes it, at ``size`` pixels and ``classes``."""
    from omegaconf import OmegaConf
    from mm_train.config.composition import compose_recipe
    overrides = [f"dataset.image_size={size}", f"dataset.num_classes={classes}"]
    if depth is not None:
        overrides.append(f"network.layers.encoder.layers.layers.repeat={depth}")
    if recompute in ("true", "false") and model == "vit_b_16":   # EncoderBlock's recompute (the block's input kept)
        overrides.append(f"++network.layers.encoder.layers.layers.block.recompute={recompute}")
    config = OmegaConf.to_container(compose_recipe(RECIPES[model], overrides), resolve=True)
    if recompute in ("true", "false"):   # ConvNeXtBlock's recompute, on every block the recipe lists
        for block in _blocks(config["network"], "ConvNeXtBlock"):
            block["recompute"] = recompute == "true"
    return config


def _blocks(node, type_name: str):
    """The layer dicts of ``type_name`` anywhere in a network config."""
    if isinstance(node, dict):
        if node.get("type") == type_name:
            yield node
        for value in node.values():
            yield from _blocks(value, type_name)
    elif isinstance(node, list):
        for value in node:
            yield from _blocks(value, type_name)


def child_mm_train(model: str, batch: int, steps: int, mode: str, depth: int | None, size: int, classes: int) -> None:
    from mm_train.core.device import set_environment
    set_environment()
    import mindspore as ms
    from mm_train.learning.amp import parse_loss_scale
    from mm_train.assembly.parts import build_training
    from mm_train.nn.builder import build_network
    config = _recipe_config(model, depth, size, classes, os.environ.get("BENCH_RECOMPUTE", ""))
    mode = config["device"]["mode"] if mode == "recipe" else mode
    defaults = config["network"].get("defaults") or {}
    recompute = any(block.get("recompute", (defaults.get(kind) or {}).get("recompute"))
                    for kind in ("EncoderBlock", "ConvNeXtBlock") for block in _blocks(config["network"], kind))
    print(f"MODE {mode}{'+recompute' if recompute else ''}", flush=True)
    ms.set_context(mode=ms.GRAPH_MODE if mode == "graph" else ms.PYNATIVE_MODE)
    network, _ = build_network(config["network"], max_params=10 ** 9)
    _, _, step = build_training(config, network, 10, batch, parse_loss_scale(None, "CPU"), "O0")
    x, y = (ms.Tensor(a) for a in _batch(batch, size, classes))
    for i in range(steps):
        start = time.perf_counter()
        step(x, y).asnumpy()
        _report(i, time.perf_counter() - start)


def child_mindspore(model: str, batch: int, steps: int, mode: str, depth: int | None, size: int, classes: int) -> None:
    os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")
    os.environ.setdefault("GLOG_v", "3")
    import mindspore as ms
    from mindspore import nn
    ms.set_context(mode=ms.GRAPH_MODE if mode == "graph" else ms.PYNATIVE_MODE)
    print(f"MODE {mode}", flush=True)
    if model == "vit_b_16":
        sys.path.insert(0, str(ROOT / "bench"))
        from plain_vit import ViT
        net = ViT(depth=depth or 12, image=size, classes=classes)
        decay = [p for p in net.trainable_params() if p.ndim > 1]
        rest = [p for p in net.trainable_params() if p.ndim <= 1]
        opt = nn.AdamWeightDecay([{"params": decay, "weight_decay": 0.3}, {"params": rest, "weight_decay": 0.0}],
                                 learning_rate=1e-4)
    elif model == "convnext_tiny":
        sys.path.insert(0, str(ROOT / "bench"))
        from plain_convnext import ConvNeXtTiny
        net = ConvNeXtTiny(classes)
        decay = [p for p in net.trainable_params() if p.ndim > 1]
        rest = [p for p in net.trainable_params() if p.ndim <= 1]
        opt = nn.AdamWeightDecay([{"params": decay, "weight_decay": 0.05}, {"params": rest, "weight_decay": 0.0}],
                                 learning_rate=1e-3)
    elif model in ("resnet50", "resnet18"):
        sys.path.insert(0, str(ROOT / "bench"))
        from plain_resnet50 import ResNet18, ResNet50, init_weights
        net = (ResNet50 if model == "resnet50" else ResNet18)(classes)
        init_weights(net)
        opt = nn.Momentum(net.trainable_params(), 0.01, 0.9, weight_decay=1e-4)
    else:
        raise SystemExit(f"no hand-written MindSpore {model}")
    loss = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")
    step = nn.TrainOneStepCell(nn.WithLossCell(net, loss), opt).set_train()
    x, y = (ms.Tensor(a) for a in _batch(batch, size, classes))
    for i in range(steps):
        start = time.perf_counter()
        step(x, y).asnumpy()
        _report(i, time.perf_counter() - start)


def child_torch(model: str, batch: int, steps: int, mode: str, depth: int | None, size: int, classes: int) -> None:
    import torch
    import torchvision
    torch.manual_seed(0)
    net = getattr(torchvision.models, model)(num_classes=classes)
    if depth is not None and model == "vit_b_16":
        net.encoder.layers = net.encoder.layers[:depth]
    if model.startswith("resnet"):
        opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    else:
        opt = torch.optim.AdamW(net.parameters(), lr=1e-4, weight_decay=0.3)
    if mode == "compile":
        net = torch.compile(net)
    print(f"MODE {mode}", flush=True)
    x, y = (torch.from_numpy(a) for a in _batch(batch, size, classes))
    y = y.long()
    loss_fn = torch.nn.CrossEntropyLoss()
    net.train()
    for i in range(steps):
        start = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
        loss.item()
        _report(i, time.perf_counter() - start)


# ----------------------------------------------------------------------------- parent
def measure(command: list[str], cap_bytes: int, env=None) -> dict:
    """Run ``command``; peak tree RSS up to the first STEP line (compile) and after it (steady)."""
    import threading

    import psutil
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    state = {"phase": "compile", "compile": 0, "steady": 0, "steps": [], "mode": None, "killed": False,
             "start": time.perf_counter(), "first_step_at": None}

    def read():
        for line in proc.stdout:
            if line.startswith("STEP"):
                _, _, seconds = line.split()
                state["steps"].append(float(seconds))
                if state["phase"] == "compile":
                    state["first_step_at"] = time.perf_counter() - state["start"]
                state["phase"] = "steady"
            elif line.startswith("MODE"):
                state["mode"] = line.split()[1]

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    parent = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            rss = sum(p.memory_info().rss for p in [parent, *parent.children(recursive=True)])
        except psutil.Error:
            rss = 0
        phase = state["phase"]
        state[phase] = max(state[phase], rss)
        if rss > cap_bytes:
            state["killed"] = True
            for p in [*parent.children(recursive=True), parent]:
                try:
                    p.kill()
                except psutil.Error:
                    pass
            break
        time.sleep(0.02)
    proc.wait()
    reader.join(timeout=5)
    state["returncode"] = proc.returncode
    state["stderr"] = proc.stderr.read()[-1500:] if proc.returncode and not state["killed"] else ""
    state["total"] = time.perf_counter() - state["start"]
    return state


def torch_python() -> str:
    sys.path.insert(0, str(ROOT / "bench"))
    import venvs
    return venvs.ensure(TORCH_PYTHON or venvs.default("torch"))


def command_for(program: str, model: str, batch: int, steps: int, mode: str, depth, size: int = 224,
                classes: int = 1000) -> list[str]:
    python = torch_python() if program == "torch" else MS_PYTHON
    command = [python, str(Path(__file__).resolve()), "--child", program, "--models", model, "--batch", str(batch),
               "--steps", str(steps), "--modes", mode, "--image-size", str(size), "--classes", str(classes)]
    return command + (["--depth", str(depth)] if depth is not None else [])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["vit_b_16", "convnext_tiny", "resnet50"])
    parser.add_argument("--programs", nargs="+", default=["mm_train", "mindspore", "torch"])
    parser.add_argument("--modes", nargs="+", default=None,
                        help="MindSpore: graph / pynative / recipe (mm_train: the recipe's device.mode, the default); "
                             "torch: eager / compile")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--depth", type=int, default=None, help="ViT: encoder blocks (12 in ViT-B/16)")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--classes", type=int, default=1000)
    parser.add_argument("--cap-gb", type=float, default=14.0)
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--torch-python", help="python with torch + torchvision (default: bench/.venvs/torch)")
    parser.add_argument("--recompute", choices=["true", "false"], help="mm_train's ViT / ConvNeXt-T: recompute on "
                        "their blocks (default: the recipe's, true)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    global TORCH_PYTHON
    TORCH_PYTHON = args.torch_python or TORCH_PYTHON
    if args.child:
        sys.path.insert(0, str(ROOT))
        run = {"mm_train": child_mm_train, "mindspore": child_mindspore, "torch": child_torch}[args.child]
        return run(args.models[0], args.batch, args.steps, args.modes[0], args.depth, args.image_size, args.classes)

    rows = []
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BENCH_RECOMPUTE": args.recompute or ""}
    for model in args.models:
        jobs = []
        for program in args.programs:
            modes = args.modes or (["eager"] if program == "torch" else ["recipe" if program == "mm_train" else "graph"])
            for mode in modes:
                if (program == "torch") != (mode in ("eager", "compile")):
                    continue
                jobs.append((program, mode))
        results = {job: [] for job in jobs}
        for i in range(args.repeats):
            for program, mode in (jobs if i % 2 == 0 else jobs[::-1]):
                result = measure(command_for(program, model, args.batch, args.steps, mode, args.depth,
                                             args.image_size, args.classes),
                                 int(args.cap_gb * 2 ** 30), env)
                result["load"] = os.getloadavg()[0]
                results[(program, mode)].append(result)
                print(f"  {model} {program} {mode}: compile {result['compile'] / 2**30:.2f} GB, steady "
                      f"{result['steady'] / 2**30:.2f} GB, steps {[round(s, 2) for s in result['steps']]}"
                      f"{' KILLED at cap' if result['killed'] else ''}{' rc=%s' % result['returncode'] if result['returncode'] else ''}"
                      f" {result['stderr'][-400:]}", file=sys.stderr, flush=True)
        rows.append((model, results))

    med = statistics.median
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    depth = f", {args.depth} encoder blocks" if args.depth is not None else ""
    print(f"{now}: batch {args.batch}, 224x224{depth}, {args.steps} steps on one in-memory batch; peak RSS of the "
          f"process tree (GB), medians of {args.repeats}; {os.cpu_count()} cores; cap {args.cap_gb} GB")
    print(f"{'model':<14} {'program':<10} {'mode':<9} {'compile GB':>10} {'steady GB':>10} {'s/step':>7} "
          f"{'1st step s':>10} {'load':>5} {'RSS / torch':>11}")
    out = []
    for model, results in rows:
        torch_peak = [max(r["compile"], r["steady"]) for (p, _), rs in results.items() if p == "torch" for r in rs
                      if not r["killed"] and not r["returncode"]]
        for (program, mode), rs in results.items():
            ok = [r for r in rs if not r["killed"] and not r["returncode"]]
            if not ok:
                why = "killed at the cap" if any(r["killed"] for r in rs) else "failed"
                peak = max(max(r["compile"], r["steady"]) for r in rs) / 2 ** 30
                print(f"{model:<14} {program:<10} {mode:<9} {why} (>= {peak:.1f} GB)")
                continue
            compile_gb = med([r["compile"] for r in ok]) / 2 ** 30
            steady_gb = med([r["steady"] for r in ok]) / 2 ** 30
            later = [s for r in ok for s in r["steps"][1:]] or [s for r in ok for s in r["steps"]]
            first = med([r["first_step_at"] for r in ok])
            ratio = (max(compile_gb, steady_gb) * 2 ** 30 / med(torch_peak)) if torch_peak else float("nan")
            shown = f"{ok[0]['mode']}" + (" (recipe)" if mode == "recipe" else "")
            print(f"{model:<14} {program:<10} {shown:<9} {compile_gb:>10.2f} {steady_gb:>10.2f} {med(later):>7.2f} "
                  f"{first:>10.1f} {med([r['load'] for r in ok]):>5.1f} {ratio:>11.2f}")
            out.append({"model": model, "program": program, "mode": ok[0]["mode"], "compile_gb": compile_gb,
                        "steady_gb": steady_gb, "s_per_step": med(later), "first_step_s": first})
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
