"""The migration zoo: torchvision and Keras applications models (seeded weights, non-trivial BatchNorm
statistics) imported into the recipes that express them, judged by ``mm-train parity`` against the
float32 floor, with and without the float64 reference; perturbed imports must all fail.

    python bench/migration_zoo.py [--only resnet50,vgg16_keras] [--work /tmp/zoo] [--cap-gb 8]
        [--torch-python PYTHON] [--keras-python PYTHON]   # default: bench/.venvs/{torch,keras} (bench/venvs.py)

Each model is made in its framework's venv (this same file, ``make-torch NAME DIR`` / ``make-keras NAME DIR``:
weights file, input x.npy, float32 output y.npy, float64 output y64.npy), then ``judge`` runs in this Python
what ``mm-train parity`` runs (network_output, verdict, self_floor), both verdicts on one network build. Every child runs alone under a memory watchdog (the RSS of its process tree above ``--cap-gb``
kills it). Prints a markdown table: max |out - y|, the float64 floor max |y64 - y|, their ratio, the verdict
with --expected64, the ratio to the floor MindSpore measures on itself and the verdict without it.
Goal: 0 false FAILED; every perturbed row FAILED.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import venvs   # the bench's own venvs, made on first use (bench/venvs.py)

ROOT = Path(__file__).resolve().parent.parent
BATCH, SIZE = 2, 224


def resnet_repeats(*repeats):
    return [f"network.layers.layer{i}.repeat={r}" for i, r in enumerate(repeats, start=1)]


# name: (framework, builder, recipe, overrides, perturbation note or "")
TORCH = {
    "resnet18": ("resnet18", "resnet18_torchvision", []),
    "resnet34": ("resnet34", "resnet18_torchvision", resnet_repeats(3, 4, 6, 3)),
    "resnet50": ("resnet50", "resnet50_torchvision", []),
    "resnet101": ("resnet101", "resnet50_torchvision", resnet_repeats(3, 4, 23, 3)),
    "resnet152": ("resnet152", "resnet50_torchvision", resnet_repeats(3, 8, 36, 3)),
    "wide_resnet50_2": ("wide_resnet50_2", "resnet50_torchvision",
                        [f"+network.layers.layer{i}.expansion=2" for i in range(1, 5)]),
    "mobilenet_v2": ("mobilenet_v2", "mobilenet_v2_torchvision", []),
    "mobilenet_v3_large": ("mobilenet_v3_large", "mobilenet_v3_large_torchvision", []),
    "efficientnet_b0": ("efficientnet_b0", "efficientnet_b0_torchvision", []),
    "convnext_tiny": ("convnext_tiny", "convnext_tiny_torchvision", []),
    "vit_b_16": ("vit_b_16", "vit_b_16_torchvision", ["device.mode=pynative"]),
}
KERAS = {
    "resnet50_keras": ("ResNet50", "resnet50_keras", [], "keras_resnet50"),
    "resnet101_keras": ("ResNet101", "resnet50_keras", resnet_repeats(3, 4, 23, 3), "keras_resnet50"),
    "resnet152_keras": ("ResNet152", "resnet50_keras", resnet_repeats(3, 8, 36, 3), "keras_resnet50"),
    "vgg16_keras": ("VGG16", "vgg16_keras", [], "keras"),
}
# perturbed imports of a model made above: (model, extra overrides, rules override or None, what is wrong)
PERTURBED = {
    "resnet50 stride on the 1x1 (v1)": ("resnet50", ["+network.layers.layer2.stride_on=1x1"], None),
    "resnet50 layer4 eps 1e-3": ("resnet50", ["network.layers.layer4.eps=1.0e-3"], None),
    "efficientnet_b0 head eps 1e-3": ("efficientnet_b0", ["+network.layers.features.layers.8.eps=1.0e-3"], None),
    "vgg16_keras Flatten CHW": ("vgg16_keras", [], "{extends: keras, flatten: chw}"),
}
VGG16_KERAS = """# @package _global_
dataset: {type: mindrecord, num_classes: 1000, image_size: 224, columns: {image: image, label: label},
          train: {path: none.mindrecord, batch_size: 2}, eval: {path: none.mindrecord, batch_size: 2}}
network:
  input_shape: [3, 224, 224]
  layers:
"""


def vgg16_recipe() -> str:
    """keras.applications.VGG16 with Keras's layer names (the keras rules map LAYER/kernel to LAYER.weight)."""
    lines, channels = [], (64, 128, 256, 512, 512)
    for block, (c, convs) in enumerate(zip(channels, (2, 2, 3, 3, 3)), start=1):
        for i in range(1, convs + 1):
            lines.append(f"    block{block}_conv{i}: {{type: Conv2d, out_channels: {c}, kernel_size: 3, pad_mode: same, "
                         "has_bias: true}")
            lines.append(f"    block{block}_relu{i}: {{type: ReLU}}")
        lines.append(f"    block{block}_pool: {{type: MaxPool2d, kernel_size: 2, stride: 2}}")
    lines += ["    flatten: {type: Flatten}", "    fc1: {type: Dense, out_channels: 4096}", "    relu_fc1: {type: ReLU}",
              "    fc2: {type: Dense, out_channels: 4096}", "    relu_fc2: {type: ReLU}",
              "    predictions: {type: Dense, out_channels: 1000}"]
    return VGG16_KERAS + "\n".join(lines) + "\nloss: {type: SoftmaxCrossEntropyWithLogits, sparse: true}\n" \
        "optimizer: {type: Momentum, momentum: 0.9}\nlr_schedule: {type: constant, lr: 0.01}\n"


# --- the framework side (runs in the bench venvs) ------------------------------------------------------------

def make_torch(name: str, out: Path) -> None:
    import copy

    import numpy as np
    import torch
    import torchvision

    torch.manual_seed(0)
    model = getattr(torchvision.models, TORCH[name][0])(weights=None).eval()
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():     # torchvision's ViT starts its head at zero: the logits would all be 0
            if p.ndim >= 2 and not p.any():
                p.copy_(torch.randn(p.shape, generator=g) / p.shape[1] ** 0.5)
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) * 0.5 + 0.75)
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) * 0.5 + 0.75)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
        x = torch.randn(BATCH, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(2))
        y = model(x)
        y64 = copy.deepcopy(model).double()(x.double())
    torch.save(model.state_dict(), out / "weights.pth")
    np.save(out / "x.npy", x.numpy())
    np.save(out / "y.npy", y.numpy())
    np.save(out / "y64.npy", y64.numpy())


def make_keras(name: str, out: Path) -> None:
    import numpy as np
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    def build():
        return getattr(keras.applications, KERAS[name][0])(weights=None, classifier_activation=None)

    model = build()
    rng = np.random.default_rng(0)
    values = []
    for v in model.weights:
        shape, var = tuple(v.shape), v.path.rsplit("/", 1)[-1]
        if var in ("gamma", "moving_variance"):
            values.append(rng.uniform(0.75, 1.25, shape))
        elif len(shape) == 1:
            values.append(rng.normal(0, 0.1, shape))
        else:
            values.append(rng.normal(0, 1 / np.sqrt(np.prod(shape[:-1])), shape))
    model.set_weights([v.astype("float32") for v in values])
    x = np.random.default_rng(2).normal(0, 1, (BATCH, SIZE, SIZE, 3)).astype("float32")
    y = np.asarray(model(x, training=False))
    model.save(out / "weights.keras")
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")
    model64 = build()
    model64.set_weights([np.asarray(v, "float32").astype("float64") for v in values])
    y64 = np.asarray(model64(x.astype("float64"), training=False))
    np.save(out / "x.npy", x)
    np.save(out / "y.npy", y.astype("float32"))
    np.save(out / "y64.npy", y64)


# --- the orchestration (runs in mm_train's Python) ------------------------------------------------------------

def watched(cmd: list[str], cap_gb: float, env=None, cwd=None) -> tuple[int, str, float, float]:
    """Run ``cmd``; kill its process tree when its RSS passes ``cap_gb``. (returncode, output, peak GB, seconds)."""
    import psutil

    start = time.time()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=cwd)
    parent, peak = psutil.Process(proc.pid), 0.0
    import threading
    chunks: list[str] = []
    reader = threading.Thread(target=lambda: chunks.extend(proc.stdout), daemon=True)
    reader.start()
    while proc.poll() is None:
        try:
            rss = sum(p.memory_info().rss for p in [parent, *parent.children(recursive=True)])
        except psutil.Error:
            rss = 0
        peak = max(peak, rss / 2**30)
        if peak > cap_gb:
            for p in [*parent.children(recursive=True), parent]:
                try:
                    p.kill()
                except psutil.Error:
                    pass
            proc.wait()
            reader.join(5)
            return -9, "".join(chunks) + f"\nKILLED by the watchdog above {cap_gb} GB", peak, time.time() - start
        time.sleep(0.25)
    reader.join(5)
    return proc.returncode, "".join(chunks), peak, time.time() - start


def judge(request: dict) -> dict:
    """``mm-train parity``'s two verdicts (with --expected64 and with the network's own floor) in one process:
    the same functions the command calls (network_output, verdict, self_floor), one network build."""
    import numpy as np

    from mm_train.jobs import open_job
    from mm_train.commands.parity import network_output
    from mm_train.migrate.parity import self_floor, verdict

    folder = Path(request["folder"])
    weights = next(folder.glob("weights.*"))
    init = f"init_from={{path: {weights}, rules: {request['rules']}}}" if request["rules"] else f"init_from={weights}"
    x, y, y64 = (np.load(folder / f) for f in ("x.npy", "y.npy", "y64.npy"))
    if request["nhwc"]:
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    info: dict = {}
    out = network_output(open_job(request["recipe"], [init, *request["overrides"]]).config, x, info)
    with64 = verdict(out, y, y64)
    without = verdict(out, y, floor=self_floor(info["network"], x))
    return {"diff": with64.max_abs, "ratio64": with64.ratio, "verdict64": "PASSED" if with64.passed else "FAILED",
            "ratio_self": without.ratio, "verdict_self": "PASSED" if without.passed else "FAILED"}


def parity(folder: Path, recipe: str, overrides: list[str], rules: str | None, nhwc: bool, cap_gb: float,
           recipes: Path) -> dict:
    import json

    request = {"folder": str(folder), "recipe": recipe, "overrides": overrides, "rules": rules, "nhwc": nhwc}
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MM_TRAIN_RECIPE_PATH": str(recipes)}
    code, out, peak, seconds = watched([sys.executable, str(Path(__file__).resolve()), "judge", json.dumps(request)],
                                       cap_gb, env, ROOT)
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if code != 0 or not lines:
        print(out[-1500:], file=sys.stderr)
        return {"diff": None, "ratio64": None, "verdict64": f"error {code}", "ratio_self": None,
                "verdict_self": f"error {code}", "peak": peak, "seconds": seconds}
    return {**json.loads(lines[-1]), "peak": peak, "seconds": seconds}


def fmt(value, spec=".2e"):
    return "-" if value is None else format(value, spec)


def main(argv=None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv and argv[0] == "judge":
        import json
        print(json.dumps(judge(json.loads(argv[1]))), flush=True)
        return 0
    if argv and argv[0] in ("make-torch", "make-keras"):
        (make_torch if argv[0] == "make-torch" else make_keras)(argv[1], Path(argv[2]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="", help="comma-separated model names (default: all)")
    parser.add_argument("--work", default="/tmp/migration_zoo")
    parser.add_argument("--cap-gb", type=float, default=8.0)
    parser.add_argument("--torch-python", default=venvs.default("torch"))
    parser.add_argument("--keras-python", default=venvs.default("keras"))
    parser.add_argument("--no-perturbed", action="store_true")
    args = parser.parse_args(argv)
    import numpy as np

    work = Path(args.work)
    recipes = work / "recipes"
    recipes.mkdir(parents=True, exist_ok=True)
    (recipes / "vgg16_keras.yaml").write_text(vgg16_recipe())
    only = [n for n in args.only.split(",") if n]
    unknown = [n for n in only if n not in TORCH and n not in KERAS]
    if unknown:
        parser.error(f"unknown models {unknown}; choose from {[*TORCH, *KERAS]}")
    models = only or [*TORCH, *KERAS]
    print("| model | recipe | max diff | float64 floor | ratio | --expected64 | ratio to own floor | without "
          "| peak GB | s |", flush=True)
    print("|---|---|---|---|---|---|---|---|---|---|", flush=True)
    rows = {}
    for name in models:
        folder = work / name
        folder.mkdir(parents=True, exist_ok=True)
        keras_model = name in KERAS
        if not (folder / "y64.npy").exists():
            python = venvs.ensure(args.keras_python if keras_model else args.torch_python)   # made on first use
            code, out, peak, _ = watched([python, str(Path(__file__).resolve()),
                                          "make-keras" if keras_model else "make-torch", name, str(folder)],
                                         args.cap_gb)
            if code != 0:
                print(f"| {name} | making it failed ({code}, peak {peak:.1f} GB): {out.strip().splitlines()[-1:]} |")
                continue
        recipe, overrides = (KERAS[name][1], KERAS[name][2]) if keras_model else (TORCH[name][1], TORCH[name][2])
        rules = KERAS[name][3] if keras_model else None
        y, y64 = np.load(folder / "y.npy"), np.load(folder / "y64.npy")
        floor = float(np.abs(y64 - y.astype(np.float64)).max())
        r = parity(folder, recipe, overrides, rules, keras_model, args.cap_gb, recipes)
        rows[name] = (recipe, overrides, rules, keras_model)
        print(f"| {name} | {recipe} | {fmt(r['diff'])} | {fmt(floor)} | {fmt(r['ratio64'], '.2f')} | "
              f"{r['verdict64']} | {fmt(r['ratio_self'], '.2f')} | {r['verdict_self']} | {r['peak']:.1f} | "
              f"{r['seconds']:.0f} |", flush=True)
    if args.no_perturbed:
        return 0
    print("\n| perturbed import | max diff | ratio to float64 floor | --expected64 | ratio to own floor | without |")
    print("|---|---|---|---|---|---|", flush=True)
    for label, (name, extra, rules) in PERTURBED.items():
        if name not in rows:
            continue
        recipe, overrides, base_rules, keras_model = rows[name]
        folder = work / name
        r = parity(folder, recipe, overrides + extra, rules or base_rules, keras_model, args.cap_gb, recipes)
        print(f"| {label} | {fmt(r['diff'])} | {fmt(r['ratio64'], '.3g')} | {r['verdict64']} | "
              f"{fmt(r['ratio_self'], '.3g')} | {r['verdict_self']} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
