"""Data and run settings as published recipes use them: BCE target threshold, a fresh seed, eval start."""
from __future__ import annotations

import json

import numpy as np
import pytest

import training_helpers
import mindspore as ms

from mm_train.registry import LOSSES


def test_bce_target_threshold_binarises_mixed_targets():
    loss = LOSSES.build({"type": "BCEWithLogitsLoss", "target_threshold": 0.2}, "loss")
    plain = LOSSES.build({"type": "BCEWithLogitsLoss"}, "loss")
    logits = ms.Tensor(np.array([[2.0, -1.0, 0.5]], np.float32))
    mixed = ms.Tensor(np.array([[0.7, 0.25, 0.05]], np.float32))       # a MixUp row
    binary = ms.Tensor(np.array([[1.0, 1.0, 0.0]], np.float32))
    assert float(loss(logits, mixed).asnumpy()) == pytest.approx(float(plain(logits, binary).asnumpy()), rel=1e-6)
    assert float(plain(logits, mixed).asnumpy()) != pytest.approx(float(plain(logits, binary).asnumpy()), rel=1e-3)


def test_seed_null_draws_a_fresh_seed_and_records_it(tmp_path):
    training_helpers.train(tmp_path / "a", "seed=null", "train.epochs=1")
    training_helpers.train(tmp_path / "b", "seed=null", "train.epochs=1")
    seeds = [json.loads((tmp_path / r / "run_info.json").read_text())["seed"] for r in ("a", "b")]
    assert all(isinstance(s, int) and s >= 0 for s in seeds) and seeds[0] != seeds[1]


def test_eval_start_epoch_skips_early_evaluations_but_not_the_last(tmp_path):
    training_helpers.train(tmp_path, "train.epochs=4", "train.eval_start_epoch=3")
    history = json.loads((tmp_path / "metrics.json").read_text())["history"]
    assert [e["epoch"] for e in history] == [3, 4]
