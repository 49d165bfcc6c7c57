"""Fuzz, deterministic: hostile recipe files derived from every built-in recipe (sweeper-parameter
smuggling, path-valued arguments, links out of the recipe folders, FIFOs, alias and interpolation bombs,
bad encodings, environment reads, deep nesting) are each refused with a ConfigError naming the key or
file, within a time bound; and the data guard refuses every bad label or non-finite pixel it is given."""
from __future__ import annotations

import os
import random

import numpy as np
import pytest

from helpers import time_bound
from hostile_recipes import alias_bomb, deep, interpolation_bomb
from mm_train.assembly.parts import build_parts
from mm_train.config.composition import compose_recipe
from mm_train.data.checks import BatchGuard, DataCheckFailed
from mm_train.core.errors import ConfigError
from mm_train.jobs import prepare
from mm_train.config.recipes import BUILTIN_DIR

BUILTIN = sorted(p.stem for p in BUILTIN_DIR.glob("*.yaml"))
SMUGGLED = [("++hydra.job_logging.handlers.probe.class", "logging.FileHandler", "hydra.sweeper.params.++hydra"),
            ("hydra.sweep.subdir", "/elsewhere", "a recipe's sweep cannot set Hydra's settings"),
            ("+optimizer.extra", "choice(1, 2)", "adds or deletes a key"),
            ("device", "choice(cpu, gpu)", "selects a config group"),
            ("paths.data", "choice('${oc.env:HOME}')", "hydra.sweeper.params.paths.data"),
            ("optimizer.lr", "choice({_target_: os.system}, 1)", "hydra.sweeper.params.optimizer.lr")]
PATHS = [("callbacks:\n  - {type: ModelCheckpoint, prefix: /abs/x}\n", "callbacks[0].prefix"),
         ("callbacks:\n  - {type: ModelCheckpoint, prefix: ../../x}\n", "callbacks[0].prefix"),
         ("callbacks:\n  - {type: TensorBoard, subdir: /tmp/tb}\n", "callbacks[0].subdir"),
         ("export: {file_name: ../model}\n", "export.file_name")]
CLASSES = ["sweeper", "path", "symlink", "fifo", "alias", "interpolation", "encoding", "environment", "nesting"]


def _head(recipe: str) -> str:
    return f"# @package _global_\ndefaults:\n  - {recipe}\n  - _self_\n"


def hostile(kind: str, recipe: str, folder, rng: random.Random) -> tuple[str, str]:
    """Write one hostile recipe of ``kind`` derived from ``recipe``; (its name, a fragment of the refusal)."""
    name, head = f"{kind}_{recipe}", _head(recipe)
    file = folder / f"{name}.yaml"
    if kind == "sweeper":
        key, value, fragment = rng.choice(SMUGGLED)
        file.write_text(head + f"hydra:\n  sweeper:\n    params:\n      {key}: \"{value}\"\n")
    elif kind == "path":
        body, fragment = rng.choice(PATHS)
        file.write_text(head + body)
    elif kind == "symlink":
        outside = folder.parent / "outside"
        outside.mkdir(exist_ok=True)
        (outside / f"{name}.yaml").write_text(head)
        file.symlink_to(outside / f"{name}.yaml")
        fragment = "is a link to"
    elif kind == "fifo":
        os.mkfifo(file)
        fragment = "is a named pipe (FIFO)"
    elif kind == "alias":
        file.write_text(alias_bomb().replace(_head("quickstart"), head))
        fragment = "values once its aliases are expanded"
    elif kind == "interpolation":
        file.write_text(interpolation_bomb(rng.choice(["train", "dataset", "extra"])).replace(_head("quickstart"), head))
        fragment = "resolves to more than 1,000,000 characters"
    elif kind == "encoding":
        file.write_bytes((head + f"# {rng.choice(['caf', 'na', 'x'])}\xe9\xff\n").encode("latin-1"))
        fragment = "is not UTF-8 text: byte 0xe9 at byte offset"
    elif kind == "environment":
        file.write_text(head + rng.choice(["seed: ${oc.env:SOME_SECRET}\n", "train: {epochs: '${oc.env:X,1}'}\n"]))
        fragment = "reads an environment variable"
    else:
        file.write_text(deep(rng.choice([100, 3000]), rng.choice(["[]", "{}"])).replace(_head("quickstart"), head))
        fragment = "nested more than 64 levels deep"
    return name, fragment


def _cases():
    """Two classes per built-in recipe, rotating so each class meets several recipes."""
    return [(recipe, CLASSES[(2 * i + j) % len(CLASSES)]) for i, recipe in enumerate(BUILTIN) for j in range(2)]


@pytest.mark.parametrize("recipe, kind", _cases())
def test_hostile_recipes_derived_from_every_builtin_are_refused(recipe, kind, tmp_path, monkeypatch):
    folder = tmp_path / "recipes"
    folder.mkdir()
    monkeypatch.setenv("MM_TRAIN_RECIPE_PATH", str(folder))
    monkeypatch.setenv("SOME_SECRET", "hunter2")
    name, fragment = hostile(kind, recipe, folder, random.Random(f"{recipe}/{kind}"))
    with time_bound(30), pytest.raises(ConfigError) as err:
        config = prepare(compose_recipe(name))
        build_parts(config, config["task"], open_data=False)
    assert fragment in str(err.value), str(err.value)
    assert "hunter2" not in str(err.value)


def test_every_class_meets_at_least_four_recipes():
    counts = {kind: sum(1 for _, k in _cases() if k == kind) for kind in CLASSES}
    assert min(counts.values()) >= 4, counts


@pytest.mark.parametrize("seed", range(40))
def test_the_batch_guard_refuses_every_bad_label_and_pixel(seed):
    rng = np.random.default_rng(seed)
    classes, batch = int(rng.integers(2, 1000)), int(rng.integers(1, 64))
    labels = rng.integers(0, classes, size=batch).astype(rng.choice([np.int32, np.int64]))
    images = rng.standard_normal((batch, 3, 4, 4)).astype(np.float32)
    guard = BatchGuard(classes, "dataset.train", lambda: None)
    guard(images, labels)   # clean: passes
    kind, at = rng.choice(["negative", "too_large", "nan", "inf"]), int(rng.integers(0, batch))
    if kind == "negative":
        labels[at] = -int(rng.integers(1, 10))
    elif kind == "too_large":
        labels[at] = classes + int(rng.integers(0, 10))
    else:
        images[at, int(rng.integers(0, 3)), 1, 2] = np.nan if kind == "nan" else -np.inf
    with pytest.raises(DataCheckFailed) as err:
        guard(images, labels)
    text = str(err.value)
    assert "dataset.train" in text
    assert (f"label {labels[at]} is outside [0, {classes})" in text) if kind in ("negative", "too_large") \
        else ("NaN" if kind == "nan" else "Inf") in text
