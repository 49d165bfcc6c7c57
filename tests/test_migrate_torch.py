"""PyTorch weights: torchvision ResNet-18 from safetensors, a real .pth without torch, refusal of
malicious pickles, key-by-key reports, and output parity with torch's own output."""
from __future__ import annotations

import importlib.util
import io
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from helpers import cli_main
from migrate_helpers import mindspore_name, random_state_dict, torchvision_resnet18_shapes, write_recipe

from mm_train.core.errors import ConfigError

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "torch_small"
SMALL_NETWORK = """network:
  input_shape: [3, 8, 8]
  layers:
    conv1: {type: Conv2d, out_channels: 4, kernel_size: 3, pad_mode: pad, padding: 1}
    bn1: {type: BatchNorm2d, eps: 1.0e-5}
    relu: {type: ReLU}
    pool: {type: GlobalAvgPool}
    fc: {type: Dense, out_channels: 5}
"""


def fixture_arrays():
    """The values scripts/make_torch_fixture.py drew (same generator, same order)."""
    rng = np.random.default_rng(0)
    conv = rng.normal(0, 0.3, (4, 3, 3, 3)).astype(np.float32)
    gamma = rng.uniform(0.5, 1.5, 4).astype(np.float32)
    beta = rng.normal(0, 0.1, 4).astype(np.float32)
    mean = rng.normal(0, 0.1, 4).astype(np.float32)
    var_storage = rng.uniform(0.5, 1.5, 8).astype(np.float32)
    fc_t = rng.normal(0, 0.5, (4, 5)).astype(np.float32)
    fc_bias = rng.normal(0, 0.1, 5).astype(np.float32)
    return {"conv1.weight": conv, "bn1.gamma": gamma, "bn1.beta": beta, "bn1.moving_mean": mean,
            "bn1.moving_variance": var_storage[2:6], "fc.weight": fc_t.T, "fc.bias": fc_bias}


def small_network():
    import yaml

    from mm_train.nn.builder import build_network
    network, _ = build_network(yaml.safe_load(SMALL_NETWORK)["network"])
    return network


def params(network) -> dict[str, np.ndarray]:
    return {p.name: p.asnumpy() for p in network.get_parameters()}


def test_torchvision_resnet18_safetensors_converts_with_every_key(tmp_path):
    from safetensors.numpy import save_file
    import mindspore as ms

    source = random_state_dict(torchvision_resnet18_shapes())
    save_file(source, str(tmp_path / "resnet18.safetensors"))
    result = cli_main("weights", "convert", str(tmp_path / "resnet18.safetensors"), str(tmp_path / "r18.ckpt"),
                          "--rules", "torchvision_resnet", "--recipe", "resnet18_torchvision",
                          "--override", "dataset.image_size=64")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "matched 102 of 102 target parameters; 0 missing, 0 unexpected source keys, 0 shape mismatches" \
        in result.stdout
    assert result.stdout.count("dropped:  ") == 20        # every num_batches_tracked
    assert "layer2.0.downsample.1.gamma" in result.stdout and "<- layer2.0.downsample.1.weight" in result.stdout
    loaded = {k: v.asnumpy() for k, v in ms.load_checkpoint(str(tmp_path / "r18.ckpt")).items()}
    expected = {mindspore_name(k): v for k, v in source.items() if not k.endswith("num_batches_tracked")}
    assert set(loaded) == set(expected)
    for name, value in expected.items():
        np.testing.assert_array_equal(loaded[name], value, err_msg=name)


def test_real_pth_fixture_imports_without_torch():
    from mm_train.assembly.init_from import load as load_weights

    assert importlib.util.find_spec("torch") is None, "this test proves the reader needs no torch"
    network = small_network()
    report = load_weights(network, {"path": str(FIXTURE / "small.pth"), "rules": "torch"})
    assert report.ok and len(report.matched) == 7 and report.dropped == ["bn1.num_batches_tracked"]
    loaded = params(network)
    for name, value in fixture_arrays().items():
        np.testing.assert_array_equal(loaded[name], value, err_msg=name)


def test_parity_with_torch_output(tmp_path):
    """torch computed y.npy from x.npy when the fixture was made: the recipe network matches it."""
    write_recipe(tmp_path / "recipes", "small_torch", SMALL_NETWORK)
    env = {"MM_TRAIN_RECIPE_PATH": str(tmp_path / "recipes")}
    common = ("parity", "+recipe=small_torch", f"init_from={FIXTURE / 'small.pth'}", "--input", str(FIXTURE / "x.npy"))
    result = cli_main(*common, "--expected", str(FIXTURE / "y.npy"), env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "max absolute difference" in result.stdout and "PASSED" in result.stdout
    max_abs = float(result.stdout.split("max absolute difference ")[1].split()[0])
    assert max_abs < 1e-5
    wrong = np.load(FIXTURE / "y.npy") + np.array([0, 0, 0.01, 0, 0], np.float32)
    np.save(tmp_path / "wrong.npy", wrong)
    result = cli_main(*common, "--expected", str(tmp_path / "wrong.npy"), env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAILED" in result.stdout and "at [0, 2]" in result.stdout


def _pth_with_pickle(path: Path, payload: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("evil/data.pkl", payload)
        archive.writestr("evil/byteorder", "little")
        archive.writestr("evil/version", "3\n")
    return path


class _System:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


class _Eval:
    def __reduce__(self):
        return eval, ("__import__('pathlib').Path('MARKER').write_text('ran')",)


def test_malicious_pth_is_refused_before_anything_runs(tmp_path):
    from mm_train.migrate.sources import read_weights

    marker = tmp_path / "pwned"
    payload = pickle.dumps({"conv1.weight": _System(f"touch {marker}")}, protocol=2)
    evil = _pth_with_pickle(tmp_path / "evil.pth", payload)
    with pytest.raises(ConfigError) as err:
        read_weights(evil)
    assert f"{os.name == 'posix' and 'posix' or 'nt'}.system" in str(err.value)
    assert "nothing in the file was run" in str(err.value)
    assert not marker.exists()
    # the same through the command a user types: exit 2, one message, still nothing created
    result = cli_main("weights", "convert", str(evil), str(tmp_path / "out.ckpt"))
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "refused to load" in result.stderr and "system" in result.stderr
    assert not marker.exists() and not (tmp_path / "out.ckpt").exists()
    # a global hidden inside an allowed call's arguments is refused too
    nested = pickle.dumps(io.BytesIO, protocol=2)   # any global other than the tensor rebuilders
    with pytest.raises(ConfigError, match="_io.BytesIO"):
        read_weights(_pth_with_pickle(tmp_path / "nested.pth", nested))
    text = pickle.dumps([_Eval()], protocol=4).replace(b"MARKER", str(marker).encode().ljust(6)[:6])
    with pytest.raises(ConfigError, match="builtins.eval"):
        read_weights(_pth_with_pickle(tmp_path / "eval.pth", text))
    assert not marker.exists()


def test_mismatched_source_is_reported_key_by_key_and_an_allowed_head_passes(tmp_path):
    from safetensors.numpy import save_file

    from mm_train.assembly.init_from import load as load_weights

    arrays = fixture_arrays()
    source = {"conv1.weight": arrays["conv1.weight"], "bn1.weight": arrays["bn1.gamma"],
              "bn1.bias": arrays["bn1.beta"], "bn1.running_var": arrays["bn1.moving_variance"],   # no running_mean
              "fc.weight": np.ones((1000, 4), np.float32), "fc.bias": np.ones(1000, np.float32),     # 1000 classes
              "aux.weight": np.ones((3, 3), np.float32)}                                            # not in the net
    save_file(source, str(tmp_path / "mismatch.safetensors"))
    spec = {"path": str(tmp_path / "mismatch.safetensors"), "rules": "torch"}
    with pytest.raises(ConfigError) as err:
        load_weights(small_network(), spec)
    text = str(err.value)
    assert "missing in the source: bn1.moving_mean [4]" in text
    assert "shape of fc.weight: source fc.weight [1000, 4], target [5, 4]" in text
    assert "shape of fc.bias: source fc.bias [1000], target [5]" in text
    assert "not in the network: aux.weight" in text
    assert "matched 4 of 7 target parameters; 1 missing, 1 unexpected source keys, 2 shape mismatches" in text

    network = small_network()
    head = params(network)["fc.weight"]
    report = load_weights(network, {**spec, "allow": ["fc.*", "bn1.moving_mean", "aux.*"]})
    assert report.ok and len(report.allowed) == 4
    loaded = params(network)
    np.testing.assert_array_equal(loaded["fc.weight"], head)               # the new head keeps its init
    np.testing.assert_array_equal(loaded["conv1.weight"], arrays["conv1.weight"])
    np.testing.assert_array_equal(loaded["bn1.moving_mean"], np.zeros(4, np.float32))


def test_mindspore_checkpoint_with_optimizer_state_through_a_mapping(tmp_path):
    import mindspore as ms

    from mm_train.assembly.init_from import load as load_weights

    source = small_network()
    values = {p.name: np.random.default_rng(3).normal(0, 1, p.shape).astype(np.float32)
              for p in source.get_parameters()}
    items = [{"name": k, "data": ms.Tensor(v)} for k, v in values.items()]
    items += [{"name": "moments.conv1.weight", "data": ms.Tensor(np.zeros((4, 3, 3, 3), np.float32))},
              {"name": "global_step", "data": ms.Tensor(np.array([5], np.int32))}]
    ms.save_checkpoint(items, str(tmp_path / "trained.ckpt"))
    network = small_network()
    report = load_weights(network, {"path": str(tmp_path / "trained.ckpt")})
    assert report.ok and sorted(report.dropped) == ["global_step", "moments.conv1.weight"]
    for name, value in params(network).items():
        np.testing.assert_array_equal(value, values[name], err_msg=name)


def test_convert_without_a_recipe_writes_a_checkpoint_that_loads_strictly(tmp_path):
    from mm_train.assembly.init_from import load as load_weights

    result = cli_main("weights", "convert", str(FIXTURE / "small.pth"), str(tmp_path / "small.ckpt"),
                          "--rules", "torch")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "bn1.gamma" in result.stdout and "<- bn1.weight" in result.stdout
    assert "dropped:  bn1.num_batches_tracked" in result.stdout and "wrote 7 parameters" in result.stdout
    network = small_network()
    assert load_weights(network, str(tmp_path / "small.ckpt")) == []       # the plain loader: nothing kept as built
    for name, value in fixture_arrays().items():
        np.testing.assert_array_equal(params(network)[name], value, err_msg=name)


def test_every_storage_type_reads_back_exactly():
    from mm_train.migrate.sources import read_weights

    weights = read_weights(FIXTURE / "dtypes.pth")      # {"state_dict": {...}, "epoch": 12}: the state_dict
    values = np.array([[1.0, -2.5, 0.25], [3.0, 0.0, -0.125]])
    expected = {"bf16": values.astype(np.float32), "half": values.astype(np.float16), "double": values,
                "long": np.array([[1, -2], [3, 2**40]], np.int64), "int8": np.array([-3, 4], np.int8),
                "uint8": np.array([250, 4], np.uint8), "bool": np.array([True, False]),
                "scalar": np.array(7.5, np.float32), "column": np.array([-2.5, 0.0], np.float32)}
    assert sorted(weights) == sorted(expected)
    for name, value in expected.items():
        assert weights[name].dtype == value.dtype, name
        np.testing.assert_array_equal(weights[name], value, err_msg=name)
