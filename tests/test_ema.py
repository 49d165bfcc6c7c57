"""train.ema_decay: the EMA of the weights in the compiled step, checkpoints, resume, evaluation and init_from."""
from __future__ import annotations

import json

import numpy as np
import pytest

from helpers import assert_user_error, read_metrics, run_main
from test_resume import RUN
from training_helpers import compose, run_killed_at, train, weights


def test_ema_of_a_constant_gradient_equals_the_closed_form():
    """SGD with gradient g: w_t = w_0 - lr*g*t, so ema_T = w_0 - lr*g*(T - d*(1 - d^T)/(1 - d))."""
    import mindspore as ms
    from mindspore import nn

    from mm_train.learning.amp import LossScale
    from mm_train.learning.train_step import build_train_network

    class Sum(nn.Cell):          # loss = sum(x @ w): the gradient is x summed over the batch, every step
        def construct(self, logits, label):
            return logits.sum()

    network = nn.Dense(4, 1, has_bias=False, weight_init="ones")
    lr, decay, steps = 0.01, 0.9, 30
    step = build_train_network(network, Sum(), nn.SGD(network.trainable_params(), lr), LossScale(), ema_decay=decay)
    x = np.array([[0.5, -1.0, 2.0, 0.25]], np.float32)
    for _ in range(steps):
        step(ms.Tensor(x), ms.Tensor(np.zeros(1, np.int32)))
    saved = {p.name: p.asnumpy() for p in step.get_parameters()}
    g = x[0].astype(np.float64)
    np.testing.assert_allclose(saved["weight"][0], 1 - lr * g * steps, rtol=0, atol=1e-6)
    expected = 1 - lr * g * (steps - decay * (1 - decay ** steps) / (1 - decay))
    np.testing.assert_allclose(saved["ema.weight"][0], expected, rtol=0, atol=1e-6)
    assert np.abs(saved["ema.weight"] - saved["weight"]).max() > 0.05      # the average lags the weights


@pytest.mark.slow
def test_killed_and_resumed_ema_run_equals_the_uninterrupted_one(tmp_path):
    run = RUN + ("train.ema_decay=0.9",)
    whole = tmp_path / "whole"
    done = run_main(*run, f"hydra.run.dir={whole}")
    assert done.returncode == 0, done.stderr[-3000:]

    broken = tmp_path / "broken"
    killed = run_killed_at(7, *run, f"hydra.run.dir={broken}")
    assert killed.returncode == -9, killed.stderr[-3000:]
    resumed = run_main(*run, f"hydra.run.dir={broken}", "resume=auto")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "quickstart-2_2.ckpt (epoch 1, step 6)" in resumed.stdout

    final_whole = weights(whole / "checkpoints" / "quickstart-3_4.ckpt")
    final_resumed = weights(broken / "checkpoints" / "quickstart-3_4.ckpt")
    averages = [k for k in final_whole if k.startswith("ema.")]
    assert "ema.conv1.conv.weight" in averages and "ema.conv1.bn.moving_mean" in averages
    for key in averages:
        np.testing.assert_allclose(final_resumed[key], final_whole[key], rtol=0, atol=1e-6, err_msg=key)
        assert final_whole[key].shape == final_whole[key[len("ema."):]].shape
    assert read_metrics(broken)["weights"] == "ema"


@pytest.mark.slow
def test_quickstart_with_ema_reaches_95_percent_and_init_from_uses_the_average(tmp_path):
    from mm_train.assembly.init_from import load as load_init_from
    from mm_train.nn.builder import build_network
    from mm_train.jobs import execute

    result = run_main("+recipe=quickstart", "train.ema_decay=0.99", f"hydra.run.dir={tmp_path}")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    metrics = read_metrics(tmp_path)
    assert metrics["final"]["acc"] >= 0.95
    assert metrics["weights"] == "ema" and metrics["ema_decay"] == 0.99

    ckpt = tmp_path / "checkpoints" / "quickstart-10_44.ckpt"
    saved = weights(ckpt)
    network, _ = build_network(compose()["network"])
    load_init_from(network, str(ckpt))                                   # default: the EMA weights
    np.testing.assert_array_equal(network.fc.weight.asnumpy(), saved["ema.fc.weight"])
    np.testing.assert_array_equal(network.conv1.bn.moving_variance.asnumpy(), saved["ema.conv1.bn.moving_variance"])
    load_init_from(network, {"path": str(ckpt), "ema": False})          # the raw ones
    np.testing.assert_array_equal(network.fc.weight.asnumpy(), saved["fc.weight"])
    load_init_from(network, {"path": str(ckpt), "format": "mindspore"})   # through the importer's rules
    np.testing.assert_array_equal(network.fc.weight.asnumpy(), saved["ema.fc.weight"])
    load_init_from(network, {"path": str(ckpt), "format": "mindspore", "ema": False})
    np.testing.assert_array_equal(network.fc.weight.asnumpy(), saved["fc.weight"])
    assert np.abs(saved["ema.fc.weight"] - saved["fc.weight"]).max() > 1e-4

    # task=eval evaluates what the run's last evaluation evaluated: the averaged weights
    acc = execute(compose("task=eval", f"init_from={ckpt}"), tmp_path / "eval", "quickstart")
    assert acc == pytest.approx(metrics["final"]["acc"], abs=1e-6)
    assert "weights" not in json.loads((tmp_path / "eval" / "metrics.json").read_text())


def test_ema_decay_out_of_range_and_a_wrong_ema_choice_are_user_errors(tmp_path):
    result = run_main("+recipe=quickstart", "train.ema_decay=1.0", f"hydra.run.dir={tmp_path}/a")
    assert_user_error(result, "train.ema_decay: got 1.0 (expected a number in [0, 1))")
    result = run_main("+recipe=quickstart", "task=eval", "init_from={path: x.ckpt, ema: maybe}",
                    f"hydra.run.dir={tmp_path}/b")
    assert_user_error(result, "init_from.ema: got 'maybe'")


def test_ema_off_keeps_checkpoints_and_metrics_as_before(tmp_path):
    train(tmp_path, "callbacks=[{type: ModelCheckpoint}]")
    assert not [k for k in weights(tmp_path / "checkpoints" / "quickstart-2_4.ckpt") if k.startswith("ema.")]
    assert "weights" not in read_metrics(tmp_path)
