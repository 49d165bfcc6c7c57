"""Bring-your-own-network zoo: torchvision, timm and Keras classifiers exported to ONNX (both torch exporters),
converted by ``mm-train migrate onnx``, checked against the source framework's float32 output, trained.

    python bench/onnx_zoo.py                                   # every row (hours on 2 cores)
    python bench/onnx_zoo.py --models torchvision:resnet50 --exporters legacy,dynamo
    python bench/onnx_zoo.py --table                           # print the table of the rows measured so far

Never a CI dependency: the exports run in venvs with torch/torchvision/timm (``--torch-python``) and
TensorFlow/tf2onnx (``--tf-python``), each in its own process (bench/onnx_zoo_export.py). Every mm_train step
is the command a user types, run under a memory watchdog (``--cap-gb``, default 8: the process tree is
killed above it). Rows are appended to ``--out``/rows.jsonl as they finish, so a partial run keeps them.

Columns: params (the source's), ops (ONNX nodes), convert s (the whole ``mm-train migrate onnx`` command),
max diff (``mm-train parity`` against the source's float32 output), bound (the float32 bound it uses),
float64 floor (the source's own float32-vs-float64 difference), trains (one epoch on the bundled digits,
limited to ``--train-images`` images (a probe: two epochs, the second timed), or all of them with ``--full-epoch``;
loss finite), train s / image and one epoch of the bundled data (run, or estimated at the probe's rate).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import venvs   # the bench's own venvs, made on first use (bench/venvs.py)

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
TORCHVISION = ["alexnet", "vgg11", "resnet50", "resnext50_32x4d", "wide_resnet50_2", "squeezenet1_1", "densenet121",
               "googlenet", "inception_v3", "mobilenet_v2", "mobilenet_v3_large", "mnasnet1_0", "shufflenet_v2_x1_0",
               "efficientnet_b0", "efficientnet_v2_s", "regnet_y_400mf", "convnext_tiny", "vit_b_16", "swin_t",
               "maxvit_t"]
TIMM = ["resnet18d", "efficientnet_b0", "mobilenetv3_small_100", "convnext_atto", "regnety_002"]
KERAS = ["ResNet50", "MobileNetV2", "EfficientNetB0"]
TRANSFORMERS = ("vit", "swin", "maxvit", "deit", "convnext")   # pynative: graph mode compiles them at great memory cost


LAST_CPU = [0.0]
BUNDLED_TRAIN_IMAGES = 1437   # mm_train/bundled/digits/train.mindrecord: one epoch


def all_models() -> list[str]:
    return [f"torchvision:{m}" for m in TORCHVISION] + [f"timm:{m}" for m in TIMM] + [f"keras:{m}" for m in KERAS]


def cpu_seconds() -> float:
    import resource
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_capped(cmd: list[str], cap_gb: float, env: dict | None = None, timeout: float = 3600) -> tuple[int, str, float, float]:
    """Run ``cmd``; kill its process tree above ``cap_gb`` of RSS. Returns (code, output, seconds, peak GB);
    ``LAST_CPU[0]``: the CPU seconds (user + system) it used, which a busy shared machine does not inflate."""
    import psutil
    started, cpu_before = time.perf_counter(), cpu_seconds()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=str(ROOT),
                            env={**os.environ, **(env or {})}, start_new_session=True)
    peak, killed = 0.0, ""
    out_chunks: list[str] = []
    import threading
    reader = threading.Thread(target=lambda: out_chunks.append(proc.stdout.read()), daemon=True)
    reader.start()
    parent = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            rss = sum(p.memory_info().rss for p in [parent, *parent.children(recursive=True)]) / 2**30
        except psutil.Error:
            rss = 0.0
        peak = max(peak, rss)
        if rss > cap_gb or time.perf_counter() - started > timeout:
            killed = f"killed by the watchdog at {rss:.1f} GB" if rss > cap_gb else "killed: timeout"
            os.killpg(proc.pid, 9)
            break
        time.sleep(0.2)
    proc.wait()
    reader.join(timeout=10)
    LAST_CPU[0] = cpu_seconds() - cpu_before
    return proc.returncode, "".join(out_chunks) + (f"\n{killed}" if killed else ""), time.perf_counter() - started, peak


def measure(model: str, exporter: str, args) -> dict:
    source, _, name = model.partition(":")
    tag = f"{source}_{name}_{exporter}".replace("-", "_").replace(".", "_")
    folder = Path(args.out) / tag
    row = {"model": model, "exporter": exporter}
    if args.train_only:   # the rows converted before: train their recipes only (the row's other columns stay)
        env = {"MM_TRAIN_RECIPE_PATH": str(folder / "recipes")}
        mode = ["device.mode=pynative"] if any(t in name for t in TRANSFORMERS) else []
        return {**row, **train(tag, folder, mode, env, args)}
    python = venvs.ensure(args.tf_python if source == "keras" else args.torch_python)   # made on first use
    code, out = 0, ""
    if not (args.reuse and (folder / "info.json").is_file()):
        code, out, _, _ = run_capped([python, "bench/onnx_zoo_export.py", model, exporter, str(folder)], args.cap_gb)
    if code != 0:
        row["error"] = "export failed: " + out.strip().splitlines()[-1][:200] if out.strip() else "export failed"
        return row
    info = json.loads((folder / "info.json").read_text())
    import onnx
    row["params"] = info["params"]
    row["ops"] = len(onnx.load(str(folder / "model.onnx"), load_external_data=False).graph.node)
    me = [sys.executable, "-m", "mm_train.commands"]
    code, out, seconds, peak = run_capped(me + ["migrate", "onnx", str(folder / "model.onnx"), "--name", tag,
                                                "--out", str(folder / "recipes"), "--no-parity"], args.cap_gb)
    row["convert_s"], row["convert_cpu_s"], row["convert_peak_gb"] = round(seconds, 1), round(LAST_CPU[0], 1), round(peak, 2)
    if code != 0:
        errors = [line for line in out.splitlines() if line.startswith("error:")] or out.strip().splitlines()[-1:]
        row["error"] = "convert exit 2: " + errors[-1].removeprefix("error: ").split(": ", 1)[-1][:300]
        return row
    y, y64 = np.load(folder / "y.npy"), np.load(folder / "y64.npy")
    row["float64_floor"] = None if info.get("no_float64") else float(np.abs(y.astype(np.float64) - y64).max())
    env = {"MM_TRAIN_RECIPE_PATH": str(folder / "recipes")}
    mode = ["device.mode=pynative"] if any(t in name for t in TRANSFORMERS) else []
    code, out, _, peak = run_capped(me + ["parity", f"+recipe={tag}", *mode, "--input", str(folder / "x.npy"),
                                          "--expected", str(folder / "y.npy")] + (["--nhwc"] if info["nhwc"] else []),
                                    args.cap_gb, env)
    found = re.search(r"max absolute difference ([0-9.e+-]+)", out)
    bound = re.search(r"max \|out - expected\| <= ([0-9.e+-]+)", out)
    row["max_diff"] = float(found.group(1)) if found else None
    row["bound"] = float(bound.group(1)) if bound else None
    row["parity"] = "PASSED" if code == 0 else ("FAILED" if found else "error: " + out.strip().splitlines()[-1][:200])
    if args.train_images and (exporter in args.train_exporters.split(",") or source == "keras"):
        row.update(train(tag, folder, mode, env, args))
    return row


def train(tag: str, folder: Path, mode: list, env: dict, args) -> dict:
    """One training epoch on the bundled digits (``--full-epoch``: all of them), or a probe: two epochs of
    ``--train-images`` images, the second timed by MindSpore's TimeMonitor (compiled already): seconds per
    training image and what a whole epoch of the bundled data takes at that rate."""
    run_dir = folder / ("epoch" if args.full_epoch else "run")
    images = BUNDLED_TRAIN_IMAGES if args.full_epoch else args.train_images
    limit = [] if args.full_epoch else [f"+dataset.train.limit={images}"]
    import shutil
    shutil.rmtree(run_dir, ignore_errors=True)   # the bench's own run folder: a new measurement replaces it
    code, out, seconds, peak = run_capped(
        [sys.executable, "run.py", f"+recipe={tag}", *mode, f"train.epochs={1 if args.full_epoch else 2}", *limit, "+dataset.eval.limit=16",
         "dataset.train.batch_size=8", "dataset.eval.batch_size=8",
         # seeded weights with wide BatchNorm statistics give logits in the hundreds: a small step size
         "lr_schedule.lr_max=0.0001", "lr_schedule.lr_init=0.00001",
         "callbacks=[{type: TimeMonitor}]", f"hydra.run.dir={run_dir}"], args.cap_gb, env, timeout=args.train_timeout)
    result = {"train_peak_gb": round(peak, 2), "train_images": images, "full_epoch": bool(args.full_epoch)}
    epochs = re.findall(r"epoch time: ([0-9.]+) ms", out)   # a probe's second epoch: compiled already
    epoch = epochs[-1] if epochs else None
    if code == 0 and (run_dir / "metrics.json").is_file():
        result["trains"] = train_verdict(run_dir, images, seconds)
    else:
        result["trains"] = "no: " + " | ".join(out.strip().splitlines()[-2:])[:300]
    if epoch:
        result["s_per_image"] = round(float(epoch) / 1000 / images, 4)
        result["epoch_s"] = round(result["s_per_image"] * BUNDLED_TRAIN_IMAGES, 0)
    return result


def train_verdict(run_dir: Path, images: int, seconds: float) -> str:
    """From the training loss (the eval loss of seeded weights with wide BatchNorm statistics overflows)."""
    csv = run_dir / "train_loss.csv"
    losses = [float(line.split(",")[1]) for line in csv.read_text().split()[1:]] if csv.is_file() else []
    verdict = "yes" if losses and all(np.isfinite(losses)) else "diverged"
    shown = " -> ".join(f"{v:.3g}" for v in losses[:1] + losses[-1:]) if losses else "none"
    return f"{verdict} ({images} images, {seconds:.0f} s, train loss {shown})"


def untrained(row: dict) -> str:
    return "- (the legacy export trains)" if row["exporter"] == "dynamo" else "not run"


def epoch_cell(r: dict) -> str:
    if "epoch_s" not in r:
        return "-"
    if r.get("full_epoch"):
        return f"{r['epoch_s']:.0f} s (run)"
    return f"not run: ~{r['epoch_s']:.0f} s at the rate of {r['train_images']} images"


def table(rows: list[dict]) -> str:
    lines = ["| model | exporter | params | ops | convert s (wall / CPU) | max diff | bound | float64 floor | parity | trains | "
             f"train s / image | one epoch ({BUNDLED_TRAIN_IMAGES} images) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]

    def num(v, fmt):
        return format(v, fmt) if isinstance(v, (int, float)) else "n/a"
    for r in rows:
        if "error" in r and "max_diff" not in r:
            lines.append(f"| {r['model']} | {r['exporter']} | {num(r.get('params'), ',')} | {r.get('ops', 'n/a')} | "
                         f"{num(r.get('convert_s'), '.1f')} | - | - | - | {r['error']} | - | - | - |")
            continue
        lines.append(f"| {r['model']} | {r['exporter']} | {num(r.get('params'), ',')} | {r.get('ops')} | "
                     f"{num(r.get('convert_s'), '.1f')} / {num(r.get('convert_cpu_s'), '.1f')} | {num(r.get('max_diff'), '.2e')} | {num(r.get('bound'), '.2e')} | "
                     f"{num(r.get('float64_floor'), '.2e')} | {r.get('parity')} | {r.get('trains', untrained(r))} | "
                     f"{num(r.get('s_per_image'), '.3f')} | {epoch_cell(r)} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(all_models()))
    parser.add_argument("--exporters", default="legacy,dynamo", help="torch exporters (Keras: tf2onnx)")
    parser.add_argument("--torch-python", default=venvs.default("torch"))
    parser.add_argument("--tf-python", default=venvs.default("keras"))
    parser.add_argument("--out", default="/tmp/onnx_zoo")
    parser.add_argument("--cap-gb", type=float, default=8.0)
    parser.add_argument("--train-images", type=int, default=32, help="images of the one training epoch (0: skip)")
    parser.add_argument("--full-epoch", action="store_true", help="train one whole epoch of the bundled data "
                        f"({BUNDLED_TRAIN_IMAGES} images) instead of --train-images")
    parser.add_argument("--train-only", action="store_true", help="train the recipes converted before (in --out) "
                        "and replace only the training columns of their rows")
    parser.add_argument("--train-timeout", type=float, default=3600, help="seconds before a training run is killed")
    parser.add_argument("--train-exporters", default="legacy", help="exports that train (default: the legacy "
                        "one, which keeps BatchNorm; the dynamo export folds it)")
    parser.add_argument("--reuse", action="store_true", help="keep the exports already in --out")
    parser.add_argument("--table", action="store_true", help="print the table of --out/rows.jsonl and exit")
    args = parser.parse_args()
    log = Path(args.out) / "rows.jsonl"
    log.parent.mkdir(parents=True, exist_ok=True)
    if not args.table:
        for model in args.models.split(","):
            exporters = ["tf2onnx"] if model.startswith("keras:") else args.exporters.split(",")
            for exporter in exporters:
                row = measure(model, exporter, args)
                print(json.dumps(row), flush=True)
                with log.open("a") as f:
                    f.write(json.dumps(row) + "\n")
    rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()] if log.is_file() else []
    latest: dict = {}
    for r in rows:   # a re-measured row replaces the earlier one; a --train-only row replaces its training columns
        key = (r["model"], r["exporter"])
        if "convert_s" in r or "error" in r and "trains" not in r:
            latest[key] = dict(r)
        else:
            latest.setdefault(key, {}).update(r)
    for r in latest.values():   # rows measured before train_verdict: read the loss again
        found = re.search(r"\((\d+) images, (\d+) s", r.get("trains", ""))
        tag = f"{r['model'].replace(':', '_')}_{r['exporter']}".replace("-", "_").replace(".", "_")
        run = Path(args.out) / tag / ("epoch" if r.get("full_epoch") else "run")
        if found and run.is_dir():
            r["trains"] = train_verdict(run, int(found.group(1)), float(found.group(2)))
    order = {m: i for i, m in enumerate(dict.fromkeys(r["model"] for r in latest.values()))}
    print(table(sorted(latest.values(), key=lambda r: (order[r["model"]], r["exporter"] != "legacy"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
