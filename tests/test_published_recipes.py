"""recipes/published/: each names its source, validates, and trains with debug=fast on tiny generated data."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import training_helpers
from mm_train.commands import main as cli_main

PUBLISHED = sorted(p.stem for p in (training_helpers.ROOT / "recipes" / "published").glob("*.yaml"))
SOURCE = ("github.com/", "arXiv:", "gitee.com/")
TINY_EVAL = ("dataset.eval.transforms=[{type: Resize, size: [32, 32]}, "
             "{type: Rescale, rescale: 0.00392156862745098, shift: 0.0}, {type: HWC2CHW}]")
LIGHT = "published/mindcv_mobilenet_v3_large"


def test_the_published_recipes_are_the_eight_ports():
    assert PUBLISHED == ["mindcv_mobilenet_v3_large", "mindcv_resnet_50", "mindcv_vit_b32_224",
                         "mmpretrain_deit_base_16xb64", "mmpretrain_resnet50_8xb32", "timm_resnet50_a3",
                         "torchvision_resnet50_v2", "zoo_resnet50_cifar10"]


@pytest.mark.parametrize("name", PUBLISHED)
def test_each_published_recipe_names_its_source_and_its_table(name):
    header = [line for line in (training_helpers.ROOT / "recipes" / "published" / f"{name}.yaml").read_text()
              .splitlines() if line.startswith("#")]
    text = "\n".join(header)
    assert "Source:" in text and any(s in text for s in SOURCE), name
    assert any(pinned in text for pinned in ("commit", "arXiv", "branch", "issuecomment")), name   # a fixed version
    docs = (training_helpers.ROOT / "docs" / "recipes.md").read_text()
    assert f"## published/{name}" in docs
    rows = [line for line in docs.splitlines() if line.startswith("|")]
    assert not [row for row in rows if "not expressible" in row.lower()]


@pytest.mark.slow   # on CPU they validate with every shipped recipe (test_recipes_validate_every_shipped_recipe)
def test_every_published_recipe_validates_for_its_target(capsys):
    names = [f"published/{n}" for n in PUBLISHED]
    assert cli_main(["recipes", "validate", "--device", "gpu", *names]) == 0
    out = capsys.readouterr().out
    assert out.count("ok ") == len(names)
    assert f"ok      {LIGHT} (checked for gpu)\n" in out


def tiny_overrides(name: str, data: Path) -> list[str]:
    overrides = ["debug=fast", "dataset.image_size=32", "callbacks=[]", "train.metrics=[acc]",   # 2 classes: no top-5
                 "device.mode=pynative", "train.amp_level=O0"]   # a few steps: no graph compile, no fp16 on CPU
    if name == "zoo_resnet50_cifar10":
        return overrides + [f"dataset.path={data}", "lr_schedule.lr_max=0.01"]   # batches of 2 at 0.1 diverge
    overrides += ["dataset.num_classes=2", f"dataset.path={data}", TINY_EVAL]   # 8 or 16 workers: this machine's cores, with a note
    if "vit" in name or "deit" in name:
        overrides.append("network.layers.encoder.layers.layers.repeat=2")
    return overrides


def tiny_data(name: str, folder: Path) -> Path:
    from mm_train.data.synthetic import write_cifar10, write_image_folder
    if name == "zoo_resnet50_cifar10":
        return write_cifar10(folder)
    write_image_folder(folder, 24, usage="train", size=40)
    write_image_folder(folder, 8, usage="val", size=40)
    return folder


def run_debug_fast(name: str, tmp_path: Path) -> dict:
    from mm_train.jobs import execute
    data = tiny_data(name, tmp_path / "data")
    config = training_helpers.compose(*tiny_overrides(name, data), recipe=f"published/{name}")
    execute(config, tmp_path / "run", f"published/{name}")
    return json.loads((tmp_path / "run" / "metrics.json").read_text())


@pytest.mark.slow          # ImageNet-size networks: about a minute each on 2 CPU cores, even at 32 x 32
@pytest.mark.parametrize("name", PUBLISHED)
def test_each_published_recipe_runs_debug_fast(name, tmp_path):
    metrics = run_debug_fast(name, tmp_path)
    assert 0.0 <= metrics["final"]["acc"] <= 1.0
