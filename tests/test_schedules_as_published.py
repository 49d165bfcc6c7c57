"""Schedules as torch, torchvision and timm step them: each against its source's formula over all steps.

The reference functions below are written from each source's documented algorithm, independently of
mm_train.learning.lr_schedules; the tolerance is 1e-6 of the peak rate.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import training_helpers
from mm_train.core.errors import ConfigError
from mm_train.learning.lr_schedules import build_lr_schedule, build_momentum_schedule


def torch_onecycle(total, max_lr, pct_start=0.3, div_factor=25.0, final_div_factor=1e4, anneal="cos",
                   three_phase=False, base_m=0.85, max_m=0.95):
    """torch.optim.lr_scheduler.OneCycleLR.get_lr for step 0..total-1: (lrs, momenta)."""
    initial = max_lr / div_factor
    low = initial / final_div_factor
    if three_phase:
        phases = [(pct_start * total - 1, initial, max_lr, max_m, base_m),
                  (2 * pct_start * total - 2, max_lr, initial, base_m, max_m),
                  (total - 1, initial, low, max_m, max_m)]
    else:
        phases = [(pct_start * total - 1, initial, max_lr, max_m, base_m),
                  (total - 1, max_lr, low, base_m, max_m)]

    def ann(a, b, pct):
        return b + (a - b) / 2 * (math.cos(math.pi * pct) + 1) if anneal == "cos" else (b - a) * pct + a
    lrs, moms = [], []
    for step in range(total):
        start = 0
        for i, (end, lr0, lr1, m0, m1) in enumerate(phases):
            if step <= end or i == len(phases) - 1:
                pct = (step - start) / (end - start)
                lrs.append(ann(lr0, lr1, pct))
                moms.append(ann(m0, m1, pct))
                break
            start = end
    return np.array(lrs), np.array(moms)


def torchvision_warmup_cosine(epochs, lr, warmup_epochs, warmup_decay, lr_min=0.0):
    """references/classification/train.py: SequentialLR(LinearLR(start_factor=lr_warmup_decay,
    total_iters=W), CosineAnnealingLR(T_max=epochs - W, eta_min=lr_min), milestones=[W]), stepped per epoch."""
    out = []
    for e in range(epochs):
        if e < warmup_epochs:
            out.append(lr * (warmup_decay + (1 - warmup_decay) * e / warmup_epochs))
        else:
            t = e - warmup_epochs
            out.append(lr_min + (lr - lr_min) * (1 + math.cos(math.pi * t / (epochs - warmup_epochs))) / 2)
    return np.array(out)


def timm_cosine(epochs, lr, warmup_epochs, warmup_lr, lr_min=0.0):
    """timm CosineLRScheduler(t_initial=epochs, warmup_t, warmup_lr_init, warmup_prefix=False), per epoch."""
    out = []
    for t in range(epochs):
        if t < warmup_epochs:
            out.append(warmup_lr + t * (lr - warmup_lr) / warmup_epochs)
        else:
            out.append(lr_min + 0.5 * (lr - lr_min) * (1 + math.cos(math.pi * t / epochs)))
    return np.array(out)


def assert_within_peak(got, want, peak):
    assert got.shape == want.shape
    assert np.max(np.abs(got.astype(np.float64) - want)) <= 1e-6 * peak


@pytest.mark.parametrize("total,anneal,three_phase,pct", [(100, "cos", False, 0.3), (250, "linear", False, 0.25),
                                                           (97, "cos", True, 0.3), (60, "linear", True, 0.4)])
def test_onecycle_equals_torch_onecyclelr_lr_and_momentum_at_every_step(total, anneal, three_phase, pct):
    spec = {"type": "onecycle", "lr_max": 0.4, "pct_start": pct, "div_factor": 20.0, "final_div_factor": 500.0,
            "anneal_strategy": anneal, "three_phase": three_phase, "base_momentum": 0.8, "max_momentum": 0.9}
    want_lr, want_m = torch_onecycle(total, 0.4, pct, 20.0, 500.0, anneal, three_phase, 0.8, 0.9)
    assert_within_peak(build_lr_schedule(spec, total, 10, 32), want_lr, 0.4)
    assert_within_peak(build_momentum_schedule(spec, total, 10), want_m, 0.9)


def test_onecycle_without_cycle_momentum_has_no_momentum_schedule():
    assert build_momentum_schedule({"type": "onecycle", "lr_max": 0.1, "cycle_momentum": False}, 50, 5) is None
    assert build_momentum_schedule({"type": "cosine", "lr_max": 0.1}, 50, 5) is None


def test_by_epoch_with_warmup_factor_equals_torchvision_lr_warmup_decay_schedule():
    epochs, spe = 600, 7     # torchvision's ResNet-50 v2: lr 0.5, 5 warm-up epochs from 0.01 x lr, cosine
    got = build_lr_schedule({"type": "cosine", "lr_max": 0.5, "warmup_epochs": 5, "warmup_factor": 0.01,
                             "by_epoch": True}, epochs * spe, spe, 1024)
    assert_within_peak(got, np.repeat(torchvision_warmup_cosine(epochs, 0.5, 5, 0.01), spe), 0.5)
    assert got[0] == pytest.approx(0.005) and np.all(got[:spe] == got[0])   # held for the whole first epoch


def test_by_epoch_cosine_without_warmup_prefix_equals_timm_cosine_scheduler():
    epochs, spe = 100, 5     # timm RSB A3: lr 8e-3, 5 warm-up epochs from 1e-4, cosine over all epochs
    got = build_lr_schedule({"type": "cosine", "lr_max": 8e-3, "lr_init": 1e-4, "warmup_epochs": 5,
                             "warmup_prefix": False, "by_epoch": True}, epochs * spe, spe, 2048)
    assert_within_peak(got, np.repeat(timm_cosine(epochs, 8e-3, 5, 1e-4), spe), 8e-3)


def mmpretrain_linear_then_cosine(epochs, spe, lr, warmup_epochs, start_factor, eta_min):
    """MMPretrain imagenet_bs1024_adamw_swin: LinearLR(start_factor, end=W, convert_to_iter_based) per step,
    then CosineAnnealingLR(eta_min, begin=W) per epoch (T_max = epochs - W)."""
    out, warm = [], warmup_epochs * spe
    for step in range(epochs * spe):
        if step < warm:
            out.append(lr * (start_factor + (1 - start_factor) * step / warm))
        else:
            t = step // spe - warmup_epochs
            out.append(eta_min + (lr - eta_min) * (1 + math.cos(math.pi * t / (epochs - warmup_epochs))) / 2)
    return np.array(out)


def test_after_warmup_steps_the_warmup_per_step_and_the_decay_per_epoch_as_mmpretrain():
    got = build_lr_schedule({"type": "cosine", "lr_max": 1e-3, "warmup_epochs": 20, "warmup_factor": 1e-3,
                             "lr_end": 1e-5, "by_epoch": "after_warmup"}, 300 * 4, 4, 1024)
    assert_within_peak(got, mmpretrain_linear_then_cosine(300, 4, 1e-3, 20, 1e-3, 1e-5), 1e-3)


def test_by_epoch_multistep_holds_each_epoch_and_per_step_does_not():
    per_epoch = build_lr_schedule({"type": "cosine", "lr_max": 0.1, "by_epoch": True}, 40, 10, 32)
    per_step = build_lr_schedule({"type": "cosine", "lr_max": 0.1}, 40, 10, 32)
    assert len(set(per_epoch.tolist())) == 4 and len(set(per_step.tolist())) == 40


def test_schedule_keys_are_checked_with_their_path():
    with pytest.raises(ConfigError, match=r"lr_schedule.warmup_factor: got 2.*\(0, 1\]"):
        build_lr_schedule({"type": "cosine", "lr_max": 0.1, "warmup_factor": 2}, 10, 5, 32)
    with pytest.raises(ConfigError, match=r"lr_schedule.by_epoch: got 'yes'"):
        build_lr_schedule({"type": "cosine", "lr_max": 0.1, "by_epoch": "yes"}, 10, 5, 32)
    with pytest.raises(ConfigError, match=r"lr_schedule.warmup_factor: set beside lr_init"):
        build_lr_schedule({"type": "cosine", "lr_max": 0.1, "lr_init": 0.0, "warmup_factor": 0.1}, 10, 5, 32)
    with pytest.raises(ConfigError, match=r"lr_schedule.anneal_strategy"):
        build_lr_schedule({"type": "onecycle", "lr_max": 0.1, "anneal_strategy": "cosine"}, 10, 5, 32)


def test_onecycle_training_run_cycles_the_optimizer_momentum(tmp_path):
    training_helpers.train(tmp_path, "~lr_schedule", "+lr_schedule={type: onecycle, lr_max: 0.1}",
                           "callbacks=[{type: ModelCheckpoint, save_checkpoint_epochs: 1}]")
    saved = training_helpers.weights(tmp_path / "checkpoints" / "quickstart-2_4.ckpt")
    want = build_momentum_schedule({"type": "onecycle", "lr_max": 0.1}, 8, 4)
    assert float(saved["momentum"]) == pytest.approx(float(want[-1]), abs=1e-6)
    assert float(want[-1]) == pytest.approx(0.95, abs=1e-3) and float(want[2]) < 0.9


def test_onecycle_with_adam_says_which_optimizers_cycle(tmp_path):
    with pytest.raises(ConfigError, match="lr_schedule.cycle_momentum: Adam has no momentum to cycle"):
        training_helpers.train(tmp_path, "~lr_schedule", "+lr_schedule={type: onecycle, lr_max: 0.01}",
                               "~optimizer", "+optimizer={type: Adam}")
