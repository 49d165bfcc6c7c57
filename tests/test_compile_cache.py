"""device.compile_cache: MindSpore's graph compile cache, one folder per graph-defining config."""
import json

import pytest

from helpers import read_metrics, run_py

from mm_train.runtime.compile_cache import cache_key, graph_config

BASE = {"task": "train", "seed": 42, "callbacks": [{"type": "TensorBoard"}], "paths": {"data": "a"},
        "device": {"target": "CPU", "compile_cache": True, "log_level": 3},
        "train": {"epochs": 2, "eval_interval": 1, "metric": "acc"},
        "network": {"layers": {"fc": {"type": "Dense", "out_channels": 10}}},
        "optimizer": {"type": "Momentum", "momentum": 0.9},
        "lr_schedule": {"type": "warmup_cosine", "lr_max": 0.1}}


def changed(section, key, value):
    config = json.loads(json.dumps(BASE))
    config[section][key] = value
    return config


def test_the_key_ignores_what_is_not_in_the_graph_and_keeps_what_is():
    key = cache_key(BASE, 10, 3)
    assert cache_key(changed("lr_schedule", "lr_max", 0.05), 10, 3) == key      # values of a Tensor
    assert cache_key(changed("train", "eval_interval", 5), 10, 3) == key
    assert cache_key({**BASE, "callbacks": [], "paths": {"data": "b"}}, 10, 3) == key
    assert cache_key(changed("train", "epochs", 3), 10, 3) != key                # the schedule's length
    assert cache_key(changed("optimizer", "momentum", 0.8), 10, 3) != key
    assert cache_key(changed("network", "layers", {"fc": {"type": "Dense", "out_channels": 5}}), 10, 3) != key
    assert cache_key({**BASE, "seed": 1}, 10, 3) != key
    assert cache_key({**BASE, "task": "eval"}, 10, 3) != key   # graphs are numbered in compile order
    assert cache_key(BASE, 11, 3) != key and cache_key(BASE, 10, 4) != key       # the data's size
    assert "callbacks" not in graph_config(BASE) and "compile_cache" not in graph_config(BASE)["device"]


@pytest.mark.slow   # MindSpore numbers cached graphs in compile order per process: a rerun is a new process
def test_a_rerun_hits_the_cache_with_the_same_results(tmp_path, compile_cache_dir):
    runs = {}
    for name, extra in (("cold", []), ("warm", []), ("other lr", ["lr_schedule.lr_max=0.05"]),
                        ("off", ["device.compile_cache=false"])):
        run_dir = tmp_path / name.replace(" ", "_")
        result = run_py("+recipe=quickstart", "train.epochs=2", "seed=7", f"hydra.run.dir={run_dir}", *extra)
        assert result.returncode == 0, result.stdout + result.stderr
        runs[name] = (read_metrics(run_dir)["final"],
                      json.loads((run_dir / "run_info.json").read_text())["compile_cache"])
    assert runs["cold"][1]["hit"] is False and runs["warm"][1]["hit"] is True
    assert runs["other lr"][1]["hit"] is True and runs["other lr"][1]["path"] == runs["cold"][1]["path"]
    assert runs["off"][1] == {"enabled": False}
    assert runs["warm"][0] == runs["cold"][0] == runs["off"][0]
    assert runs["cold"][1]["path"].startswith(str(compile_cache_dir))


def test_the_cache_is_the_jobs_own_and_ends_with_it(tmp_path, monkeypatch):
    """An in-process job (tests, Hydra sweeps) must not leave MindSpore's cache on for what runs next:
    a later task=check or parity in a subprocess would load the job's graphs in their place."""
    import os

    from training_helpers import train
    monkeypatch.delenv("MS_COMPILER_CACHE_ENABLE", raising=False)
    train(tmp_path / "run", "device.compile_cache=true")
    info = json.loads((tmp_path / "run" / "run_info.json").read_text())
    assert info["compile_cache"]["enabled"] is True
    assert "MS_COMPILER_CACHE_ENABLE" not in os.environ and "MS_COMPILER_CACHE_PATH" not in os.environ
