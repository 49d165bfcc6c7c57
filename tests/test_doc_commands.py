"""Every shell command in README.md and docs/*.md runs as written (epochs shrunk), or is skipped here with a reason.
``python run.py`` and ``mm-train`` commands run their entry point's ``main(argv)`` in this process (the same argv,
folder and environment as a shell would give them; the console script itself: tests/test_packaging.py).

A command added to the docs fails ``test_every_doc_command_is_in_the_table`` until it is listed below (to run,
or to skip with a reason; skipped commands are not test cases). Each
command runs in a folder of its own, after the commands it builds on (NEEDS: what the docs run before it, such
as the conversion a recipe reads); ``x.ckpt`` is the checkpoint of the README's first run, trained once.
"""
from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from doc_commands import commands
from helpers import ROOT, call_main, write_digit_pngs

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FAST = "debug=fast"


def skip(reason: str):
    return ("skip", reason)


def run(*extra: str):
    return ("run", extra)


GPU, ASCEND, NET = "needs a GPU build of MindSpore", "needs Ascend NPUs", "needs network access"
MULTI = "needs several machines (msrun / mpirun across nodes)"
TORCH = "needs the user's PyTorch weights (resnet18.pth / x.npy), made by the torch snippet above it"
IMAGENET = "needs the user's ImageNet-style data (data/imagenet, /data/imagenet)"
SELF = "the command that installs and runs this test suite"

TABLE = {
    "python run.py +recipe=resnet50_cifar device=ascend": skip(ASCEND),
    "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/python run.py +recipe=quickstart":
        skip("installs into a new venv: tests/test_packaging.py builds and installs the wheel instead"),
    "mm-train run +recipe=quickstart train.epochs=1": run("hydra.run.dir=runs/first"),
    "python -m mm_train +recipe=quickstart train.epochs=1": run(FAST),
    "python3 -m venv .venv && .venv/bin/pip install -e \".[test]\" && .venv/bin/python -m pytest -n 2": skip(SELF),
    ".venv/bin/python -m pytest -n 2 -m \"not slow\"": skip(SELF + " (its part without the slow tests)"),
    "python run.py": ("fails", ()),                     # lists the recipes, exit 2 by design
    "mm-train run +recipe=quickstart train.epochs=3": run(FAST),
    "python run.py +recipe=quickstart train.epochs=3 lr_schedule.lr_max=0.05": run(FAST),
    "python run.py +recipe=resnet50_cifar paths.data=/data device=gpu": skip(GPU),
    "python run.py -m +recipe=quickstart lr_schedule.lr_max=0.1,0.05": run(FAST, "hydra.sweep.dir=multirun/2026-11-26/10-00-00"),
    "mm-train recipes ls": run(),
    "mm-train recipes validate published/mindcv_mobilenet_v3_large --device gpu": run(),
    "mm-train blocks ls --kind block": run(),
    "mm-train --help": run(),
    "python run.py +recipe=quickstart hydra.run.dir=runs/q resume=auto": run("train.epochs=1"),
    "python run.py +recipe=quickstart resume=runs/q/checkpoints/quickstart-03_44.ckpt train.epochs=20":
        ("edit", ("resume=runs/q/checkpoints/quickstart-1_44.ckpt", "train.epochs=2")),
    "python run.py +recipe=quickstart init_from='{path: x.ckpt, allow_missing: [\"fc.*\"]}'": run(FAST),
    "python run.py +recipe=quickstart task=eval init_from=x.ckpt": run(),
    "python run.py +recipe=quickstart task=export init_from=x.ckpt export.format=MINDIR": run(),
    "mm-train launch --nproc 8 -- +recipe=resnet50_cifar device=gpu": skip(GPU),
    "msrun --worker_num=8 --local_worker_num=8 --master_addr=127.0.0.1 --master_port=8118 --join=True "
    "--log_dir=outputs/r50/msrun run.py +recipe=resnet50_cifar device=gpu hydra.run.dir=outputs/r50": skip(GPU),
    "mm-train launch --nproc 8 --nnodes 2 --node-rank 0 --master-addr 10.0.0.1 --master-port 8118 -- "
    "+recipe=resnet50_cifar device=ascend hydra.run.dir=/shared/runs/r50": skip(MULTI),
    "mm-train launch --nproc 8 --nnodes 2 --node-rank 1 --master-addr 10.0.0.1 --master-port 8118 -- "
    "+recipe=resnet50_cifar device=ascend hydra.run.dir=/shared/runs/r50": skip(MULTI),
    "msrun --worker_num=16 --local_worker_num=8 --master_addr=10.0.0.1 --master_port=8118 --node_rank=0 "
    "--join=True --cluster_time_out=300 run.py +recipe=resnet50_cifar device=ascend hydra.run.dir=/shared/runs/r50":
        skip(MULTI),
    "mpirun -n 8 python run.py +recipe=resnet50_cifar device=gpu hydra.run.dir=outputs/r50": skip(GPU),
    "mpirun -n 16 -H node0:8,node1:8 python run.py +recipe=resnet50_cifar device=gpu "
    "hydra.run.dir=/shared/runs/r50": skip(MULTI),
    "mm-train data download cifar10 --dest data": skip(NET + " (the test writes a synthetic CIFAR-10 there instead)"),
    "mm-train data convert cifar10 data/cifar-10-batches-bin data/cifar10_mindrecord/train.mindrecord "
    "--usage train --shards 4": run(),
    "mm-train data convert cifar10 data/cifar-10-batches-bin data/cifar10_mindrecord/test.mindrecord "
    "--usage test": run(),
    "mm-train data convert image_folder data/flowers data/flowers_tf/train.tfrecord --to tfrecord":
        skip("needs the user's own image folder (data/flowers); tests/test_data_convert.py converts one"),
    "python run.py +recipe=cifar10_mindrecord": run(FAST),
    "python run.py +recipe=resnet50_cifar task=summary": run(),
    "python run.py +recipe=resnet18_cifar task=check": run(),
    "python run.py +recipe=resnet18_cifar task=check device=ascend device.mode=pynative": skip(ASCEND),
    "mm-train sweep report multirun/2026-11-26/10-00-00": run(),
    "python run.py -m +recipe=quickstart hparams_search=quickstart_optuna hydra.sweeper.n_trials=20":
        ("edit", ("hydra.sweeper.n_trials=2", FAST)),
    "mm-train recipes show quickstart train.epochs=3": run(),
    "mm-train recipes cp resnet50_cifar team_a/": run(),
    "mm-train recipes validate": skip("this very command (every shipped recipe composed and built, minutes) runs in "
                                      "tests/test_recipes_workflow.py::test_recipes_validate_every_shipped_recipe"),
    "python run.py +recipe=quickstart network.layers.conv1.type=ConvBNRelu": ("fails", ()),   # the Errors example
    "mm-train weights convert resnet18.pth r18.ckpt --rules torchvision_resnet --recipe resnet18_torchvision":
        skip(TORCH),
    "mm-train parity +recipe=resnet18_torchvision init_from=r18.ckpt --input x.npy --expected y.npy": skip(TORCH),
    "mm-train recipes cp resnet18_torchvision team_recipes/": run(),
    "export MM_TRAIN_RECIPE_PATH=team_recipes": ("env", ()),
    "mm-train recipes show resnet18_torchvision": run(),
    "python run.py +recipe=resnet18_torchvision task=summary": run(),
    "python run.py +recipe=resnet18_torchvision task=check device=ascend": skip(ASCEND),
    "mm-train data convert image_folder /data/imagenet data/imagenet/train.mindrecord --usage train": skip(IMAGENET),
    "mm-train data convert image_folder /data/imagenet data/imagenet/val.mindrecord --usage val": skip(IMAGENET),
    "python run.py +recipe=resnet18_torchvision debug=overfit": skip(IMAGENET),
    "python run.py +recipe=resnet18_torchvision debug=small": skip(IMAGENET),
    "python run.py +recipe=resnet18_torchvision debug=fast": skip(IMAGENET),
    "mm-train weights convert resnet18.safetensors resnet18.ckpt --rules torchvision_resnet "
    "--recipe resnet18_torchvision": skip(TORCH),
    "mm-train weights convert resnet18.pth r18_cifar.ckpt --rules torchvision_resnet --recipe resnet18_torchvision "
    "--override dataset.num_classes=10 --allow 'fc.*'": skip(TORCH),
    "python run.py +recipe=resnet18_torchvision dataset.num_classes=10 "
    "'init_from={path: resnet18.pth, rules: torchvision_resnet, allow: [fc.*]}'": skip(TORCH + " and ImageNet data"),
    "mm-train weights convert model.pth model.ckpt --rules my_rules.yaml --recipe my_recipe": skip(TORCH),
    "mm-train weights convert ddp.pth r18.ckpt --recipe resnet18_torchvision --strip-prefix module.":
        skip(TORCH + " (tests/test_weight_import_wrappers.py loads a module.-prefixed state_dict)"),
    "mm-train parity +recipe=resnet18_torchvision 'init_from={path: resnet18.pth, rules: torchvision_resnet}' "
    "--input x.npy --expected y.npy --expected64 y64.npy": skip(TORCH),
    "python run.py +recipe=resnet18_torchvision dataset.num_classes=10 init_from=r18_cifar.ckpt": skip(TORCH),
    "python run.py +recipe=resnet18_torchvision task=eval init_from=RUN_DIR/CHECKPOINT.ckpt": skip(IMAGENET),
    "python run.py +recipe=resnet18_torchvision task=export init_from=RUN_DIR/CHECKPOINT.ckpt export.format=MINDIR":
        skip(TORCH + " (a trained checkpoint; quickstart's export runs above)"),
    "python run.py +recipe=quickstart task=predict init_from=x.ckpt predict.input=photos/": run(),
    "python run.py +recipe=quickstart train.ema_decay=0.999": run(FAST),
    "python run.py +recipe=quickstart train.grad_accumulation=4": run(FAST),
    "python run.py +recipe=vit_b_16_torchvision task=eval init_from=vit_b_16.pth":
        skip("needs torchvision's ViT-B/16 weights and ImageNet data"),
    "mm-train parity +recipe=resnet50_keras 'init_from={path: resnet50.keras, rules: keras_resnet50}' "
    "--input x_nhwc.npy --expected logits.npy --expected64 logits64.npy --nhwc": skip("needs the user's Keras weights and outputs (no TensorFlow here)"),
    "mm-train weights convert resnet50.weights.h5 resnet50.ckpt --rules keras_resnet50 --recipe resnet50_keras":
        skip("needs the user's Keras 3 ResNet50 .weights.h5 (no TensorFlow here); tests/test_keras3_files.py "
             "converts one with Keras's layout"),
    "python run.py +recipe=vit_digits task=summary": run(),
    "python run.py +recipe=vit_digits task=check": run(),
    "python run.py +recipe=vit_digits": run(FAST),
    "python run.py +recipe=vit_digits network.layers.encoder.layers.layers.repeat=4 "
    "network.layers.conv_proj.hidden_dim=96 train.epochs=1": run(FAST),
    "python run.py +recipe=vit_digits network.layers.encoder.layers.layers.block.num_heads=5 task=summary":
        ("fails", ()),   # docs/networks.md: a head count that does not divide the width
    "python run.py +recipe=vit_b_16_torchvision task=summary": run(),
    "python run.py +recipe=inception_digits task=summary": run(),
    "python run.py +recipe=inception_digits": run(FAST),
    "python run.py +recipe=inception_digits network.layers.residual.inputs=[inception.concat,stme] task=summary":
        ("fails", ()),   # docs/networks.md: an unknown input, with "did you mean"
    "mm-train weights convert --list-rules": run(),
    "mm-train migrate onnx model.onnx --name my_net --out my_recipes": run(),
    "export MM_TRAIN_RECIPE_PATH=my_recipes": ("env", ()),
    "mm-train parity +recipe=my_net --input x.npy --expected y.npy": run(),
    "python run.py +recipe=my_net train.epochs=1": run(FAST),
    "python bench/migration_zoo.py --only resnet50,efficientnet_b0":
        skip("a benchmark of several minutes in the bench venvs (torch, torchvision, keras): bench/.venvs, "
             "made by bench/venvs.py"),
    "python bench/peer_mindcv.py --steps 8 --repeats 2 --default-steps 4 --default-repeats 1":
        skip("a benchmark of several minutes that installs mindcv from PyPI into its own venv and needs a mindcv "
             "git checkout (--mindcv-repo)"),
}

FIRST_RUN = "mm-train run +recipe=quickstart train.epochs=1"   # its checkpoint is the docs' x.ckpt
CONVERT = "mm-train data convert cifar10 data/cifar-10-batches-bin data/cifar10_mindrecord/"
ONNX_RECIPE = ["mm-train migrate onnx model.onnx --name my_net --out my_recipes", "export MM_TRAIN_RECIPE_PATH=my_recipes"]
TEAM_RECIPES = ["mm-train recipes cp resnet18_torchvision team_recipes/", "export MM_TRAIN_RECIPE_PATH=team_recipes"]

# What a command reads that commands before it in the docs wrote.
NEEDS = {
    "python run.py +recipe=quickstart resume=runs/q/checkpoints/quickstart-03_44.ckpt train.epochs=20":
        ["python run.py +recipe=quickstart hydra.run.dir=runs/q resume=auto"],
    "python run.py +recipe=cifar10_mindrecord": [CONVERT + "train.mindrecord --usage train --shards 4",
                                                 CONVERT + "test.mindrecord --usage test"],
    "mm-train sweep report multirun/2026-11-26/10-00-00": ["python run.py -m +recipe=quickstart lr_schedule.lr_max=0.1,0.05"],
    "mm-train recipes show resnet18_torchvision": TEAM_RECIPES,
    "python run.py +recipe=resnet18_torchvision task=summary": TEAM_RECIPES,
    "mm-train parity +recipe=my_net --input x.npy --expected y.npy": ONNX_RECIPE,
    "python run.py +recipe=my_net train.epochs=1": ONNX_RECIPE,
}

ALL = list(dict.fromkeys(c for doc in DOCS for c in commands(doc)))
RUN = [c for c in ALL if TABLE.get(c, ("run",))[0] != "skip"]


def write_onnx_example(folder) -> None:
    """model.onnx (a small branching graph, built with onnx.helper), x.npy and onnxruntime's y.npy."""
    if (folder / "model.onnx").exists():
        return
    import numpy as np
    import onnxruntime as ort

    import onnx_graphs
    path = onnx_graphs.save(onnx_graphs.inception(), folder)
    x = np.random.default_rng(0).standard_normal((2, *onnx_graphs.X_SHAPE)).astype(np.float32)
    np.save(folder / "x.npy", x)
    np.save(folder / "y.npy", ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0])


def test_every_doc_command_is_in_the_table():
    assert [c for c in ALL if c not in TABLE] == [], "add these doc commands to TABLE (run or skip with a reason)"
    assert [c for c in TABLE if c not in ALL] == [], "these TABLE entries are no longer in the docs"
    assert [c for c in [FIRST_RUN, *NEEDS, *(n for needs in NEEDS.values() for n in needs)] if c not in ALL] == []


def test_each_skipped_doc_command_says_why():
    skipped = {c: TABLE[c][1] for c in ALL if TABLE.get(c, ("run",))[0] == "skip"}
    assert skipped and all(isinstance(reason, str) and len(reason) > 10 for reason in skipped.values()), skipped


def new_workspace(folder: Path, cifar_dir: Path) -> dict:
    (folder / "data").mkdir()
    os.symlink(cifar_dir, folder / "data" / "cifar-10-batches-bin")   # stands in for mm-train data download
    return {"dir": folder, "env": {**os.environ, "PYTHONPATH": str(ROOT), "MM_TRAIN_DATA": str(folder / "data")}}


@pytest.fixture(scope="module")
def first_checkpoint(tmp_path_factory, cifar_dir) -> Path:
    """The checkpoint of the README's first run, as the docs' x.ckpt."""
    workspace = new_workspace(tmp_path_factory.mktemp("first"), cifar_dir)
    result = run_command(FIRST_RUN, workspace)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return next((workspace["dir"] / "runs" / "first" / "checkpoints").glob("*.ckpt"))


@pytest.fixture
def workspace(tmp_path, cifar_dir):
    return new_workspace(tmp_path, cifar_dir)


def argv(command: str, extra) -> list[str]:
    words = shlex.split(command)
    if words[0] == "mm-train":
        words = [sys.executable, "-m", "mm_train.commands", *words[1:]]
    elif words[:2] == ["python", "run.py"]:
        words = [sys.executable, str(ROOT / "run.py"), *words[2:]]
    elif words[0] == "python":
        words = [sys.executable, *words[1:]]
    return words + list(extra)


def in_process(words: list[str]):
    """The entry point whose ``main(argv)`` runs ``words`` in this process (``python run.py``, ``python -m
    mm_train``, ``mm-train``), with its argv; None for a command that needs its own process."""
    if words[:2] == [sys.executable, str(ROOT / "run.py")] or words[:3] == [sys.executable, "-m", "mm_train"]:
        from mm_train.__main__ import main
        return main, words[2:] if words[1] != "-m" else words[3:]
    if words[:3] == [sys.executable, "-m", "mm_train.commands"]:
        from mm_train.commands import main
        return main, words[3:]
    return None


def run_command(command: str, workspace: dict) -> subprocess.CompletedProcess | None:
    """Run one table row in ``workspace`` (None for a skipped row; an ``export`` row sets the workspace's variable).

    ``python run.py`` and ``mm-train`` rows run their entry point's ``main(argv)`` in this process, as a process
    would (:func:`helpers.call_main`: the same argv, folder and environment); other programs start a process."""
    kind, extra = TABLE[command]
    if kind == "skip":
        return None
    if kind == "env":
        name, value = command.removeprefix("export ").split("=", 1)
        workspace["env"][name] = str(workspace["dir"] / value)
        return subprocess.CompletedProcess(command, 0, "", "")
    words = argv(command, extra)
    if kind == "edit":   # replace the keys the doc gives with smaller values
        keys = {e.split("=", 1)[0] for e in extra}
        words = [w for w in argv(command, ()) if w.split("=", 1)[0] not in keys] + list(extra)
    if words[1:2] == [str(ROOT / "run.py")] and kind != "fails" and not any(w.startswith("hydra.") for w in words):
        words.append(f"hydra.run.dir=runs/{abs(hash(command))}")
    if entry := in_process(words):
        main, args = entry
        env = {k: v for k, v in workspace["env"].items() if os.environ.get(k) != v}
        return call_main(main, args, cwd=workspace["dir"], env=env)
    return subprocess.run(words, cwd=workspace["dir"], env=workspace["env"], capture_output=True, text=True,
                          timeout=900)


@pytest.mark.slow
@pytest.mark.parametrize("command", RUN)
def test_doc_command_runs(command, workspace, request):
    kind, extra = TABLE[command]
    if "model.onnx" in command or "+recipe=my_net" in command:
        write_onnx_example(workspace["dir"])   # stands in for the torch export of docs/migration.md
    for needed in NEEDS.get(command, []):
        done = run_command(needed, workspace)
        assert done.returncode == 0, f"{needed}: " + done.stdout[-3000:] + done.stderr[-3000:]
    if "x.ckpt" in command:
        (workspace["dir"] / "x.ckpt").write_bytes(request.getfixturevalue("first_checkpoint").read_bytes())
    if "predict.input=photos/" in command:
        write_digit_pngs(workspace["dir"] / "photos", limit=20)
    if command == FIRST_RUN:   # the fixture ran this very row (and checked it) for x.ckpt: not twice
        assert request.getfixturevalue("first_checkpoint").is_file()
        return
    result = run_command(command, workspace)
    output = result.stdout[-3000:] + result.stderr[-3000:]
    if kind == "fails":
        assert result.returncode == 2 and "Traceback" not in output, output
    else:
        assert result.returncode == 0, output
