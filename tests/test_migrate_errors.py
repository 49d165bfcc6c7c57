"""User errors of the migration tools: one message naming the key or file, with "did you mean"."""
from __future__ import annotations

import numpy as np
import pytest

from helpers import cli_main

from mm_train.core.errors import ConfigError
from mm_train.migrate.rules import builtin_rules, convert, load_rules
from mm_train.assembly.init_from import parse as parse_spec


def test_builtin_rule_sets_load():
    assert {"torch", "torchvision_resnet", "keras", "keras_resnet50", "mindspore"} <= set(builtin_rules())
    for name in builtin_rules():
        assert load_rules(name).description


def test_unknown_rule_set_and_bad_rules_files(tmp_path):
    with pytest.raises(ConfigError, match="no rule set named 'torchvison_resnet'.*Did you mean 'torchvision_resnet'"):
        load_rules("torchvison_resnet")
    bad = tmp_path / "bad.yaml"
    bad.write_text("renames:\n  - ['a', 'b']\n")
    with pytest.raises(ConfigError, match=r"bad.yaml.renames: unknown key.*Did you mean 'rename'"):
        load_rules(str(bad))
    bad.write_text("rename:\n  - ['(unclosed', 'b']\n")
    with pytest.raises(ConfigError, match=r"rename\[0\].match: bad regular expression"):
        load_rules(str(bad))
    bad.write_text("layout:\n  - {match: kernel, transpose: [0, 0, 1]}\n")
    with pytest.raises(ConfigError, match=r"layout\[0\].transpose.*a permutation"):
        load_rules(str(bad))


def test_user_rules_file_extends_a_builtin_set(tmp_path):
    rules = tmp_path / "mine.yaml"
    rules.write_text("extends: torch\nrename:\n  - ['^backbone\\.', '']\n  - ['^head\\.', 'fc.']\n")
    source = {"backbone.conv1.weight": np.ones((2, 1, 1, 1)), "backbone.bn1.weight": np.ones(2),
              "backbone.bn1.running_var": np.ones(2), "backbone.bn1.num_batches_tracked": np.array(3),
              "head.weight": np.ones((3, 2))}
    out = convert(source, load_rules(str(rules)))
    assert sorted(out.weights) == ["bn1.gamma", "bn1.moving_variance", "conv1.weight", "fc.weight"]
    assert out.dropped == ["backbone.bn1.num_batches_tracked"]


def test_init_from_mapping_is_checked():
    with pytest.raises(ConfigError, match=r"init_from.rule: unknown key.*Did you mean 'rules'"):
        parse_spec({"path": "w.pth", "rule": "torch"})
    with pytest.raises(ConfigError, match=r"init_from.format: got 'pytorch'.*Did you mean 'torch'"):
        parse_spec({"path": "w.bin", "format": "pytorch"})
    with pytest.raises(ConfigError, match=r"init_from.format: cannot tell the format of w.weights"):
        parse_spec({"path": "w.weights"})
    assert parse_spec("w.pth") == {"path": "w.pth", "format": "torch", "rules": "torch", "allow": []}
    assert parse_spec({"path": "m.h5", "allow": "fc.*"})["rules"] == "keras"


def test_damaged_and_missing_files_are_one_message(tmp_path):
    from mm_train.migrate.sources import read_weights

    (tmp_path / "w.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{garbage")
    with pytest.raises(ConfigError, match="cannot read .*w.safetensors"):
        read_weights(tmp_path / "w.safetensors")
    (tmp_path / "old.pth").write_bytes(b"\x80\x02not a zip")
    with pytest.raises(ConfigError, match="not a zip-format torch.save file.*safetensors"):
        read_weights(tmp_path / "old.pth")
    with pytest.raises(ConfigError, match="weight file not found"):
        read_weights(tmp_path / "nope.npz")


def test_commands_have_help_with_an_example_and_run_py_reports_a_bad_init_from(tmp_path):
    from helpers import assert_user_error, run_main

    for command in (("weights", "convert"), ("parity",)):
        result = cli_main(*command, "--help")
        assert result.returncode == 0 and "example:" in result.stdout and "mm-train" in result.stdout
    result = cli_main("weights", "convert", "--list-rules")
    assert result.returncode == 0 and "keras_resnet50" in result.stdout
    result = run_main("+recipe=quickstart", "task=eval", "init_from={path: missing.pth, rules: torchvison_resnet}",
                    cwd=tmp_path)
    assert_user_error(result, "init_from.rules", "Did you mean 'torchvision_resnet'")


def test_bfloat16_safetensors_become_float32(tmp_path):
    import json
    import struct

    from mm_train.migrate.sources import read_weights

    header = json.dumps({"w": {"dtype": "BF16", "shape": [2, 2], "data_offsets": [0, 8]},
                         "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}}).encode()
    body = np.array([0x3F80, 0x4000, 0xC040, 0x3E80], "<u2").tobytes() + np.array([0.5], "<f4").tobytes()
    (tmp_path / "bf16.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + body)
    weights = read_weights(tmp_path / "bf16.safetensors")
    np.testing.assert_array_equal(weights["w"], np.array([[1.0, 2.0], [-3.0, 0.25]], np.float32))
    np.testing.assert_array_equal(weights["b"], np.array([0.5], np.float32))


def test_legacy_torch_file_is_named_as_such_with_how_to_re_save_it(tmp_path):
    """torch 2.x still writes the legacy format with _use_new_zipfile_serialization=False: say so."""
    from mm_train.migrate.sources import read_weights
    from mm_train.migrate.torch_pickle import LEGACY_MAGIC

    (tmp_path / "legacy.pth").write_bytes(LEGACY_MAGIC + b".\x80\x02}q\x00.")   # as torch.save(..., False) starts
    with pytest.raises(ConfigError) as err:
        read_weights(tmp_path / "legacy.pth")
    assert "torch's legacy format (_use_new_zipfile_serialization=False" in str(err.value)
    assert "also 2.x" in str(err.value) and "torch.save(sd, 'w.pth')" in str(err.value)
    (tmp_path / "other.pth").write_bytes(b"\x80\x02not a zip")
    with pytest.raises(ConfigError, match="not a torch.save file \\(neither zip nor legacy\\)"):
        read_weights(tmp_path / "other.pth")
