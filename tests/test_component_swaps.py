"""A component re-typed on the command line or in a child recipe is given in full (the README's rule), and
every suggestion an error prints is a whole override that works when pasted. In process."""
from __future__ import annotations

import shlex

import pytest
from omegaconf import OmegaConf

from mm_train.config.composition import compose_recipe
from mm_train.core.errors import ConfigError
from mm_train.jobs import open_job


def composed(*overrides: str, recipe: str = "quickstart") -> dict:
    return OmegaConf.to_container(compose_recipe(recipe, list(overrides)), resolve=True)


@pytest.mark.parametrize("overrides", [
    ["loss={type: CrossEntropyLoss, label_smoothing: 0.1}"],
    ["loss.type=CrossEntropyLoss", "+loss.label_smoothing=0.1"],
    ["loss.type=CrossEntropyLoss", "loss.label_smoothing=0.1"],
])
def test_a_loss_swapped_on_the_command_line_replaces_the_recipes_arguments(overrides):
    job = open_job("quickstart", overrides)   # validated: no "loss.sparse: unknown argument"
    assert job.config["loss"] == {"type": "CrossEntropyLoss", "label_smoothing": 0.1}


def test_an_lr_schedule_swapped_on_the_command_line_replaces_the_recipes_arguments():
    config = open_job("quickstart", ["lr_schedule={type: step, lr_max: 0.1, step_epochs: 2}"]).config
    assert config["lr_schedule"] == {"type": "step", "lr_max": 0.1, "step_epochs": 2}
    with pytest.raises(ConfigError) as err:   # the recipe's warmup_cosine arguments are not handed to step
        open_job("quickstart", ["lr_schedule.type=step"])
    assert str(err.value) == ("2 problems in the config:\n  - lr_schedule.lr_max: missing required argument\n"
                              "  - lr_schedule.step_epochs: missing required argument")


def test_setting_one_argument_keeps_the_others():
    assert composed("loss.reduction=sum")["loss"] == {"type": "SoftmaxCrossEntropyWithLogits", "sparse": True,
                                                     "reduction": "sum"}


def test_a_child_recipe_that_retypes_the_dataset_inherits_none_of_its_split_settings(tmp_path, monkeypatch):
    (tmp_path / "digits_folder.yaml").write_text(
        "# @package _global_\ndefaults:\n  - quickstart\n  - _self_\n"
        "dataset:\n  type: image_folder\n  path: /data/digits\n  num_classes: 10\n"
        "  train: {batch_size: 16}\n  eval: {batch_size: 50}\n")
    monkeypatch.setenv("MM_TRAIN_RECIPE_PATH", str(tmp_path))
    dataset = composed(recipe="digits_folder")["dataset"]
    assert dataset == {"type": "image_folder", "path": "/data/digits", "num_classes": 10,
                       "train": {"batch_size": 16}, "eval": {"batch_size": 50}}
    dataset = composed("dataset.train.shuffle=false", recipe="digits_folder")["dataset"]
    assert dataset["train"] == {"batch_size": 16, "shuffle": False}   # the command line still adds keys


def test_a_dataset_retyped_on_the_command_line_drops_the_recipes_split_settings():
    dataset = composed("dataset={type: cifar10, path: /data/c10, num_classes: 10, train: {batch_size: 8}}")["dataset"]
    assert dataset == {"type": "cifar10", "path": "/data/c10", "num_classes": 10, "train": {"batch_size": 8}}


def test_a_suggested_override_is_whole_and_works_when_pasted():
    with pytest.raises(ConfigError) as err:
        compose_recipe("quickstart", ["optimizer.nesterov=true"])
    message = str(err.value)
    assert message == "optimizer.nesterov: not in this recipe; add it with +optimizer.nesterov=true"
    pasted = shlex.split(message.rsplit("add it with ", 1)[1])
    assert open_job("quickstart", pasted).config["optimizer"]["nesterov"] is True

    with pytest.raises(ConfigError) as err:   # a value with spaces comes quoted, whole
        compose_recipe("quickstart", ["train.schedule_note={a: 1, b: 2}"])
    suggestion = str(err.value).rsplit("add it with ", 1)[1]
    assert suggestion == "'+train.schedule_note={a: 1, b: 2}'"
    assert shlex.split(suggestion) == ["+train.schedule_note={a: 1, b: 2}"]
