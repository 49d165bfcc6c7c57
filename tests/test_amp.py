"""Loss scale and AMP are checked against the device before anything is compiled."""
from __future__ import annotations

import json

import pytest

from helpers import assert_user_error, run_main
from mm_train.core.errors import ConfigError
from training_helpers import train


def test_dynamic_loss_scale_on_cpu_is_a_clear_error_before_compilation(tmp_path):
    run_dir = tmp_path / "run"
    result = run_main("+recipe=quickstart", "device=cpu", "loss_scale.type=dynamic", f"hydra.run.dir={run_dir}")
    assert_user_error(result, "loss_scale.type: dynamic loss scale is not supported by MindSpore on CPU",
                      "loss_scale.cpu_fallback=fixed")
    assert "epoch" not in result.stdout                                   # no step ran
    assert not (run_dir / "checkpoints").exists() and not (run_dir / "metrics.json").exists()


def test_fixed_scale_with_drop_overflow_update_on_cpu_is_an_error():
    from mm_train.learning.amp import parse_loss_scale
    with pytest.raises(ConfigError, match=r"loss_scale.drop_overflow_update: MindSpore cannot detect overflow"):
        parse_loss_scale({"type": "fixed", "scale": 128, "drop_overflow_update": True}, "CPU")
    with pytest.raises(ConfigError, match=r"loss_scale.type: unknown loss scale 'dynamc'.*'dynamic'"):
        parse_loss_scale({"type": "dynamc"}, "CPU")
    with pytest.raises(ConfigError, match=r"loss_scale.scale_windw: unknown key.*'scale_window'"):
        parse_loss_scale({"type": "dynamic", "scale_windw": 10}, "GPU")
    scale = parse_loss_scale({"type": "dynamic", "init_loss_scale": 1024, "scale_window": 50}, "GPU")
    assert (scale.kind, scale.scale, scale.scale_window, scale.detects_overflow) == ("dynamic", 1024.0, 50, True)


def test_requested_cpu_fallback_is_logged_and_trains_with_a_fixed_scale(tmp_path, capsys, caplog):
    train(tmp_path, "train.epochs=1", "loss_scale.type=dynamic", "+loss_scale.init_loss_scale=256",
          "+loss_scale.cpu_fallback=fixed")
    warning = "loss_scale.type=dynamic is not supported on CPU; using cpu_fallback=fixed with scale 256"
    assert caplog.text.count(warning) == 1 and warning not in capsys.readouterr().out   # logged once, not printed too
    assert json.loads((tmp_path / "metrics.json").read_text())["final"]["acc"] >= 0


@pytest.mark.parametrize("level", ["O2", "O3"])
def test_amp_levels_train_on_cpu(level, tmp_path):
    train(tmp_path, "train.epochs=1", f"train.amp_level={level}", "loss_scale.type=fixed",
          "+loss_scale.scale=128")
    final = json.loads((tmp_path / "metrics.json").read_text())["final"]
    assert final["loss"] == final["loss"]                                  # not NaN


def test_unknown_amp_level_is_a_user_error(tmp_path):
    result = run_main("+recipe=quickstart", "train.amp_level=O4", f"hydra.run.dir={tmp_path}")
    assert_user_error(result, "train.amp_level: got 'O4'")
