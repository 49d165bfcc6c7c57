"""train.grad_accumulation: N micro-batches of B per optimizer step train as one batch of N x B."""
from __future__ import annotations

import numpy as np
import pytest

from helpers import assert_user_error, run_main
from training_helpers import train, weights

# a BatchNorm-free MLP on 64 unshuffled digits; the quickstart's per-step warmup-cosine schedule
MLP = ("~network.layers", "+network.layers={flatten: {type: Flatten}, fc1: {type: Dense, out_channels: 32}, "
       "relu: {type: ReLU}, fc: {type: Dense, out_channels: 10}}", "dataset.train.shuffle=false",
       "callbacks=[{type: ModelCheckpoint}]")
WHOLE = ("dataset.train.batch_size=16",)
MICRO = ("dataset.train.batch_size=4", "train.grad_accumulation=4", "loss_scale.type=fixed", "+loss_scale.scale=1024")


def _final(run_dir):
    return weights(run_dir / "checkpoints" / "quickstart-2_4.ckpt")   # 64 / 16 = 4 optimizer steps an epoch


def _assert_close(a, b, atol):
    for name in ("fc1.weight", "fc1.bias", "fc.weight", "fc.bias"):
        np.testing.assert_allclose(a[name], b[name], rtol=0, atol=atol, err_msg=name)


@pytest.fixture(scope="module")
def unclipped(tmp_path_factory):
    """The final weights of whole batches of 16 without clipping (trained once for both cases below)."""
    run_dir = tmp_path_factory.mktemp("unclipped")
    train(run_dir, *MLP, *WHOLE)
    return _final(run_dir)


@pytest.mark.parametrize("clip", [None, 0.05])
def test_four_micro_batches_equal_one_batch_of_four_times_the_size(tmp_path, clip, unclipped):
    clipping = (f"+optimizer.clip_grad_norm={clip}",) if clip else ()
    if clip:
        train(tmp_path / "whole", *MLP, *WHOLE, *clipping)
    train(tmp_path / "micro", *MLP, *MICRO, *clipping)
    whole, micro = _final(tmp_path / "whole") if clip else unclipped, _final(tmp_path / "micro")
    _assert_close(micro, whole, 1e-5)
    # epochs, checkpoints and the learning-rate schedule count optimizer steps
    assert int(micro["step_num"]) == 8 and int(micro["global_step"]) == 8
    assert sorted(p.name for p in (tmp_path / "micro" / "checkpoints").glob("*.ckpt")) == \
        ["quickstart-1_4.ckpt", "quickstart-2_4.ckpt"]
    if clip:   # the clipping bites: the unclipped run ends elsewhere
        assert np.abs(unclipped["fc.weight"] - whole["fc.weight"]).max() > 1e-3


def test_grad_accumulation_must_be_a_whole_number_from_1(tmp_path):
    result = run_main("+recipe=quickstart", "train.grad_accumulation=0", f"hydra.run.dir={tmp_path}")
    assert_user_error(result, "train.grad_accumulation: got 0 (expected a whole number >= 1)")
    result = run_main("+recipe=quickstart", "train.grad_acumulation=2", f"hydra.run.dir={tmp_path}")
    assert_user_error(result, "train.grad_acumulation", "Did you mean 'grad_accumulation'?")


@pytest.mark.slow
def test_two_workers_with_accumulation_equal_one_process(tmp_path, recipes):
    """msrun, 2 ranks x 2 micro-batches of 8 against one process with 2 micro-batches of 16."""
    from test_distributed import _launch

    proc = _launch("--nproc", "2", "--", "+recipe=dp_mlp", "train.grad_accumulation=2",
                   f"hydra.run.dir={tmp_path / 'dp'}", cwd=tmp_path, recipes=recipes)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, out[-3000:] + err[-3000:]
    single = run_main("+recipe=dp_mlp", "train.grad_accumulation=2", "dataset.train.batch_size=16",
                    f"hydra.run.dir={tmp_path / 'single'}", env={"MM_TRAIN_RECIPE_PATH": str(recipes)})
    assert single.returncode == 0, single.stderr[-3000:]
    name = "dp_mlp-2_2.ckpt"   # 64 samples, 32 per optimizer step: 2 steps an epoch
    parallel, alone = (weights(tmp_path / run / "checkpoints" / name) for run in ("dp", "single"))
    _assert_close(parallel, alone, 1e-6)
    assert int(parallel["step_num"]) == 4


@pytest.fixture(scope="module")
def recipes(tmp_path_factory):
    from test_distributed import MLP_RECIPE
    folder = tmp_path_factory.mktemp("accumulation_recipes")
    (folder / "dp_mlp.yaml").write_text(MLP_RECIPE)
    return folder
