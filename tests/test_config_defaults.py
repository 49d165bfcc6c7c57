"""The fixed sections' defaults live in one place, conf/config.yaml; the schema holds only their types."""
from __future__ import annotations

from dataclasses import MISSING, fields

import pytest
from omegaconf import OmegaConf

from helpers import ROOT, compose
from mm_train.config.schema import SECTIONS, with_defaults
from mm_train.nn.budget import DEFAULT_MAX_PARAMS

CONF = OmegaConf.load(ROOT / "conf" / "config.yaml")


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_every_schema_key_has_its_default_in_config_yaml_and_only_there(section):
    schema = SECTIONS[section]
    assert set(CONF[section]) == {f.name for f in fields(schema)}
    assert all(f.default is MISSING and f.default_factory is MISSING for f in fields(schema))


def test_device_and_debug_groups_change_only_keys_the_schema_knows():
    for group in ("device", "debug"):
        names = {f.name for f in fields(SECTIONS[group])}
        for path in sorted((ROOT / "conf" / group).glob("*.yaml")):
            assert set(OmegaConf.load(path)) <= names, path


@pytest.mark.parametrize("device, sink, cache, isa", [("cpu", False, True, "AVX2"), ("gpu", True, False, None),
                                                      ("ascend", True, False, None)])
def test_a_device_group_changes_what_differs_and_keeps_the_rest(device, sink, cache, isa):
    config = compose("quickstart", f"device={device}")["device"]
    assert (config["dataset_sink_mode"], config["compile_cache"], config["onednn_max_cpu_isa"]) == (sink, cache, isa)
    assert (config["mode"], config["device_id"], config["log_level"]) == ("graph", 0, 3)


def test_a_debug_mode_keeps_the_defaults_it_does_not_set():
    debug = compose("quickstart", "debug=fast")["debug"]
    assert (debug["batch_size"], debug["train_limit"]) == (2, 8)
    assert (debug["augmentation"], debug["overfit_loss"], debug["loss_scale"]) == (True, 0.05, None)


def test_a_plain_mapping_gets_the_defaults_hydra_would_compose():
    composed = compose("quickstart")
    plain = with_defaults({"train": {"epochs": 3}, "device": {"target": "CPU"}})
    assert plain["train"] == {**composed["train"], "epochs": 3}
    assert plain["predict"] == composed["predict"] and plain["paths"] == composed["paths"]
    assert plain["device"]["compile_cache"] is False   # config.yaml's; conf/device/cpu.yaml turns it on


def test_the_parameter_limit_default_is_the_network_builders():
    assert CONF.limits.max_params == DEFAULT_MAX_PARAMS
