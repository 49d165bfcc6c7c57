"""Real-valued settings are checked against their meaning at validation (momentum and betas in [0, 1),
eps above 0, weight decay not negative), and a TFRecord recipe's columns must name its declared features:
recipes validate finds them, without opening the data."""
from __future__ import annotations

import pytest

from mm_train.commands import main as cli_main
from mm_train.config.schema import validate
from mm_train.core.errors import ConfigError
from mm_train.jobs import open_job


@pytest.fixture(scope="module")
def base():
    return open_job("quickstart").config


@pytest.mark.parametrize("optimizer, key, expected", [
    ({"type": "Momentum", "momentum": 1e12}, "momentum", "a number in [0, 1)"),
    ({"type": "Momentum", "momentum": 1.0}, "momentum", "a number in [0, 1)"),
    ({"type": "SGD", "momentum": -0.1}, "momentum", "a number in [0, 1)"),
    ({"type": "SGD", "dampening": 2}, "dampening", "a number in [0, 1]"),
    ({"type": "Adam", "beta1": 1.0}, "beta1", "a number in [0, 1)"),
    ({"type": "Adam", "beta2": 1.5}, "beta2", "a number in [0, 1)"),
    ({"type": "Adam", "eps": 0}, "eps", "a number in (0, 1]"),
    ({"type": "AdamWeightDecay", "eps": -1e-8}, "eps", "a number in (0, 1]"),
    ({"type": "RMSProp", "decay": 1.0}, "decay", "a number in [0, 1)"),
    ({"type": "Lamb", "beta1": float("nan")}, "beta1", "a number in [0, 1)"),
    ({"type": "LARS", "coefficient": 0}, "coefficient", "a number above 0"),
    ({"type": "Momentum", "weight_decay": -1e-4}, "weight_decay", "a number from 0"),
])
def test_an_optimizer_setting_outside_its_meaning_is_named(base, optimizer, key, expected):
    with pytest.raises(ConfigError) as err:
        validate({**base, "optimizer": optimizer})
    assert f"optimizer.{key}: got " in str(err.value) and expected in str(err.value), str(err.value)


def test_the_usual_settings_pass(base):
    for optimizer in ({"type": "Momentum", "momentum": 0.9, "weight_decay": 1e-4}, {"type": "Adam", "eps": 1e-8},
                      {"type": "SGD", "momentum": 0.0, "dampening": 1.0}, {"type": "LARS", "coefficient": 0.001}):
        validate({**base, "optimizer": optimizer})


def test_recipes_validate_names_a_momentum_and_a_misspelled_column(capsys):
    assert cli_main(["recipes", "validate", "quickstart", "--override", "optimizer.momentum=1e12"]) == 1
    assert "optimizer.momentum: got 1000000000000.0 (expected a number in [0, 1))" in capsys.readouterr().out
    assert cli_main(["recipes", "validate", "cifar10_tfrecord", "--override", "dataset.columns.image=imaeg"]) == 1
    out = capsys.readouterr().out
    assert "dataset.columns.image: 'imaeg' is not a declared feature" in out and "Did you mean 'image'" in out


def test_recipes_validate_with_data_checks_columns_against_the_files(capsys):
    assert cli_main(["recipes", "validate", "quickstart", "--data", "--override", "dataset.columns.image=imaeg"]) == 1
    out = capsys.readouterr().out
    assert "dataset.columns.image: column 'imaeg' is not in" in out and "Did you mean 'image'" in out
