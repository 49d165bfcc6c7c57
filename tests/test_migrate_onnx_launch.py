"""A converted recipe trains data-parallel: ``mm-train migrate onnx`` of a window-attention graph (built with
onnx.helper), then ``mm-train launch --nproc 2`` (msrun, 2 CPU workers) as a user types them."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest

import onnx_exporter_graphs as eg
import onnx_graphs as g
from mm_train.commands import main


@pytest.mark.slow
def test_converted_recipe_trains_on_two_ranks_with_msrun(tmp_path):
    path = g.save(eg.window_classifier(), tmp_path / "src")
    assert main(["migrate", "onnx", str(path), "--name", "winnet", "--out", str(tmp_path / "recipes"),
                 "--no-parity"]) == 0
    run = tmp_path / "run"
    env = {**os.environ, "MM_TRAIN_RECIPE_PATH": str(tmp_path / "recipes")}
    done = subprocess.run([sys.executable, "-m", "mm_train.commands", "launch", "--nproc", "2", "--", "+recipe=winnet",
                           "+dataset.train.limit=64", "+dataset.eval.limit=32", f"hydra.run.dir={run}"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"mm-train launch: done, run directory {run}" in done.stdout
    report = json.loads((run / "distributed.json").read_text())
    assert report["world_size"] == 2 and report["in_sync"] is True
    # each rank read its own half: 64 images / 2 ranks / batch 16
    assert [r["train_shard"] for r in report["ranks"]] == [
        {"num_shards": 2, "shard_id": 0, "batches_per_epoch": 2}, {"num_shards": 2, "shard_id": 1, "batches_per_epoch": 2}]
    for rank in (0, 1):
        assert f"rank {rank}/2: train shard {rank} of 2, 2 batches per epoch" in (run / f"rank_{rank}.log").read_text()
    after = report["checks"][-1]
    assert after["when"] == "after training" and after["in_sync"] and after["mismatched"] == []
    import mindspore as ms
    saved = ms.load_checkpoint(str(run / "checkpoints" / "winnet-1_2.ckpt"))
    assert f"{eg.ATTN}.relative_position_bias_table" in saved and "head.weight" in saved
    metrics = json.loads((run / "metrics.json").read_text())
    assert math.isfinite(metrics["final"]["loss"])
