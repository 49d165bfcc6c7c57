"""curves.png: a log-scale loss axis and whole epoch ticks; report.png: titled, with a labelled best job. In process."""
from __future__ import annotations

import math

from mm_train.reports.curves_png import log_ticks, whole_ticks


def test_epoch_ticks_are_whole_numbers():
    assert whole_ticks(1, 2) == [1.0, 2.0]                       # not 1.2, 1.4, ...
    ticks = whole_ticks(1, 20)
    assert all(t == int(t) for t in ticks) and ticks[0] <= 1 and ticks[-1] >= 19 and len(ticks) <= 10


def test_loss_ticks_are_round_values_on_a_log_axis():
    ticks = log_ticks(0.0008, 2.5)
    assert ticks[0] <= 0.0008 and ticks[-1] >= 2.5
    assert all(round(t / 10 ** math.floor(math.log10(t)), 6) in (1, 2, 5) for t in ticks)
    assert log_ticks(1e-6, 10) == [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0]   # decades only when many


def test_curves_png_and_sweep_report_png_are_drawn(tmp_path):
    import json
    import yaml
    from PIL import Image
    from mm_train.callbacks.plot import plot_curves
    from mm_train.reports.sweep_report import report
    steps = list(range(1, 89))
    path = plot_curves(tmp_path / "curves.png", steps, [2.5 * 0.95 ** s for s in steps],
                       [{"epoch": 1, "step": 44, "acc": 0.9, "loss": 0.4}, {"epoch": 2, "step": 88, "acc": 0.97,
                                                                            "loss": 0.1}], 44)
    assert Image.open(path).size == (880, 320)
    for i, (lr, status) in enumerate([("0.1", "finished"), ("0.05", "finished"), ("0.2", "interrupted")]):
        job = tmp_path / "sweep" / str(i)
        (job / ".hydra").mkdir(parents=True)
        (job / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump([f"lr_schedule.lr_max={lr}"]))
        (job / "metrics.json").write_text(json.dumps({"status": status, "final" if status == "finished" else "last":
                                                      {"acc": 0.9 + i / 100}}))
    report(tmp_path / "sweep")
    assert Image.open(tmp_path / "sweep" / "report.png").size[0] >= 400
