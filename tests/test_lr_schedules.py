"""Learning-rate schedules: per-step values against the closed-form formulas."""
from __future__ import annotations

import math

import numpy as np

import training_helpers  # noqa: F401  (claims the CPU before a kernel runs)
import pytest

from mm_train.core.errors import ConfigError
from mm_train.learning.lr_schedules import build_lr_schedule

SPE, EPOCHS, WARM = 10, 12, 2          # steps per epoch, epochs, warmup epochs
TOTAL, W = SPE * EPOCHS, SPE * WARM


def build(spec, batch=32):
    return build_lr_schedule(spec, TOTAL, SPE, batch)


def expected(after_warmup, lr_init=0.01, peak=0.1):
    """Warmup ``lr_init + (peak - lr_init) * s / W`` then ``after_warmup(progress, s)``."""
    return np.array([lr_init + (peak - lr_init) * s / W if s < W else after_warmup((s - W) / (TOTAL - W), s)
                     for s in range(TOTAL)], np.float32)


CASES = {
    "constant": ({"lr": 0.1}, lambda p, s: 0.1),
    "step": ({"lr_max": 0.1, "step_epochs": 4, "gamma": 0.5}, lambda p, s: 0.1 * 0.5 ** (s // 40)),
    "multistep": ({"lr_max": 0.1, "milestones": [5, 9], "gamma": 0.1},
                  lambda p, s: 0.1 * 0.1 ** ((s >= 50) + (s >= 90))),
    "cosine": ({"lr_max": 0.1, "lr_end": 0.001}, lambda p, s: 0.001 + 0.099 * (1 + math.cos(math.pi * p)) / 2),
    "poly": ({"lr_max": 0.1, "lr_end": 0.0, "power": 2.0}, lambda p, s: 0.1 * (1 - p) ** 2),
    "linear": ({"lr_max": 0.1, "lr_end": 0.002}, lambda p, s: 0.1 + (0.002 - 0.1) * p),
    "warmup_cosine": ({"lr_max": 0.1}, lambda p, s: 0.1 * (1 + math.cos(math.pi * p)) / 2),
    "warmup_poly": ({"lr_max": 0.1, "power": 1.5}, lambda p, s: 0.1 * (1 - p) ** 1.5),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_schedule_matches_its_formula_with_linear_warmup(name):
    args, formula = CASES[name]
    lrs = build({"type": name, "warmup_epochs": WARM, "lr_init": 0.01, **args})
    assert lrs.dtype == np.float32 and lrs.shape == (TOTAL,)
    np.testing.assert_allclose(lrs, expected(formula), rtol=1e-6, atol=1e-9)
    assert lrs[0] == pytest.approx(0.01) and lrs[W] == pytest.approx(formula(0.0, W), rel=1e-6)


def test_scale_by_batch_multiplies_the_peak_rate_by_global_batch_over_base():
    plain = build({"type": "cosine", "lr_max": 0.1, "warmup_epochs": WARM}, batch=512)
    scaled = build({"type": "cosine", "lr_max": 0.1, "warmup_epochs": WARM,
                    "scale_by_batch": {"base_batch_size": 256}}, batch=512)
    np.testing.assert_allclose(scaled, plain * 2, rtol=1e-6)
    assert scaled[W] == pytest.approx(0.2)
    const = build({"type": "constant", "lr": 0.1, "scale_by_batch": {"base_batch_size": 256}}, batch=64)
    assert const[0] == pytest.approx(0.025)


def test_schedule_errors_name_the_key():
    with pytest.raises(ConfigError, match=r"lr_schedule.type: unknown lr schedule 'cosin'.*'cosine'"):
        build({"type": "cosin", "lr_max": 0.1})
    with pytest.raises(ConfigError, match=r"lr_schedule.milestones: missing required argument"):
        build({"type": "multistep", "lr_max": 0.1})
    with pytest.raises(ConfigError, match=r"lr_schedule.scale_by_batch.*base_batch_size"):
        build({"type": "cosine", "lr_max": 0.1, "scale_by_batch": {"base": 256}})
