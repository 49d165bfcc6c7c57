"""mm_train's schedules against torch's own schedulers (run with a Python that has torch and timm):

    PYTHONPATH=$PWD /work/benchvenv/bin/python bench/schedules_vs_torch.py

Prints, per schedule, the max |mm_train - torch| over all steps as a fraction of the peak rate.
"""
import numpy as np
import torch

from mm_train.learning.lr_schedules import build_lr_schedule, build_momentum_schedule


def torch_rates(make, steps, per_step=True):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0, momentum=0.9)
    sched = make(opt)
    lrs, moms = [], []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        moms.append(opt.param_groups[0]["momentum"])
        opt.step()
        sched.step()
    return np.array(lrs), np.array(moms)


def row(name, got, want, peak):
    print(f"| {name} | {len(want)} | {np.max(np.abs(got.astype(np.float64) - want)) / peak:.2e} |")


print("| schedule | steps | max abs diff / peak |\n|---|---|---|")
total = 1000
for anneal in ("cos", "linear"):
    for three in (False, True):
        spec = {"type": "onecycle", "lr_max": 0.4, "anneal_strategy": anneal, "three_phase": three}
        want, mom = torch_rates(lambda o: torch.optim.lr_scheduler.OneCycleLR(
            o, max_lr=0.4, total_steps=total, anneal_strategy=anneal, three_phase=three), total)
        row(f"onecycle {anneal} three_phase={three} lr", build_lr_schedule(spec, total, 10, 1), want, 0.4)
        row(f"onecycle {anneal} three_phase={three} momentum", build_momentum_schedule(spec, total, 10), mom, 0.95)
epochs, spe = 600, 3
warm = torch_rates(lambda o: torch.optim.lr_scheduler.SequentialLR(o, [
    torch.optim.lr_scheduler.LinearLR(o, start_factor=0.01, total_iters=5),
    torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=epochs - 5, eta_min=0.0)], milestones=[5]), epochs)[0] * 0.5
got = build_lr_schedule({"type": "cosine", "lr_max": 0.5, "warmup_epochs": 5, "warmup_factor": 0.01,
                         "by_epoch": True}, epochs * spe, spe, 1)
row("torchvision v2 (by_epoch, warmup_factor)", got[::spe], warm, 0.5)
try:
    from timm.scheduler import CosineLRScheduler
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=8e-3)
    sched = CosineLRScheduler(opt, t_initial=100, lr_min=0.0, warmup_t=5, warmup_lr_init=1e-4)
    want = np.array([sched._get_lr(t)[0] for t in range(100)])
    got = build_lr_schedule({"type": "cosine", "lr_max": 8e-3, "lr_init": 1e-4, "warmup_epochs": 5,
                             "warmup_prefix": False, "by_epoch": True}, 100 * spe, spe, 1)
    row("timm CosineLRScheduler (by_epoch, warmup_prefix: false)", got[::spe], want, 8e-3)
except ImportError:
    print("timm not installed: its row skipped")
