"""Checkpoint files: atomic saving, finding the newest, resuming, loading weights by name.

    resume: auto               # newest RUN_DIR/checkpoints/*.ckpt (run again with the same hydra.run.dir)
    resume: path/to/x.ckpt     # a given one: weights, optimizer state, epoch and step
    init_from: path/to/x.ckpt  # weights only, every key must match (mm_train.assembly.init_from -> load_checkpoint)

Files are named ``PREFIX-EPOCH_STEP.ckpt`` (MindSpore's pattern; STEP counts
within the epoch; both zero-padded to the width of the run's last, so names sort by epoch:
``quickstart-03_44.ckpt`` of 20 epochs) and hold ``epoch_num`` and ``step_num`` (the global step).
They are written to a hidden temporary file and renamed, so a run killed
while saving never leaves a truncated newest checkpoint.
"""
from __future__ import annotations

import fnmatch
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from mm_train.core.errors import ConfigError, WriteFailed

log = logging.getLogger(__name__)
NAME = re.compile(r"^(?P<prefix>.+)-(?P<epoch>\d+)_(?P<step>\d+)\.ckpt$")
STATE_KEYS = ("epoch_num", "step_num", "scale_sense", "current_iterator_step", "last_save_time",
              "global_step", "learning_rate")
STATE_PREFIXES = ("moments.", "moment1.", "moment2.", "mean_grad.", "mean_square.", "accum.", "beta1_power",
                  "beta2_power", "learning_rate", "global_step", "momentum", "vhat.", "lars",
                  "ema.")   # EMA weights (mm_train/learning/ema.py)


def save_atomic(cell, path: Path, append: Mapping[str, Any] | None = None) -> Path:
    """``ms.save_checkpoint`` to a hidden file in the same folder, then ``os.replace``."""
    import mindspore as ms

    from mm_train.runtime import interruption
    path = Path(path)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        # a signal waits until the file is complete and renamed (then ends the run naming it)
        with interruption.phase(f"the writing of checkpoint {path.name}"), interruption.deferred():
            path.parent.mkdir(parents=True, exist_ok=True)
            ms.save_checkpoint(cell, str(tmp), append_dict=dict(append or {}))
            os.replace(tmp, path)
            ordinary_mode(path)   # MindSpore leaves 0400: readable by the group, like the other files
    except OSError as err:   # disk full, permission denied, read-only: one message, no temporary file left
        _remove_temporaries(tmp)
        files = checkpoint_files(path.parent) if path.parent.is_dir() else []
        raise WriteFailed(path, err, files[-1] if files else None) from None
    except BaseException:
        _remove_temporaries(tmp)
        raise
    return path


def checkpoint_name(prefix: str, epoch: int, in_epoch: int, epochs: int, steps_per_epoch: int) -> str:
    """``PREFIX-EPOCH_STEP.ckpt``, EPOCH and STEP padded to the widths of ``epochs`` and ``steps_per_epoch``."""
    return (f"{prefix}-{epoch:0{len(str(max(epochs, epoch)))}d}_"
            f"{in_epoch:0{len(str(max(steps_per_epoch, in_epoch)))}d}.ckpt")


def ordinary_mode(path: Path) -> None:
    """Give ``path`` the mode ``open`` gives a new file (0o666 less the umask), not MindSpore's 0400."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def _remove_temporaries(tmp: Path) -> None:
    """``tmp`` and what MindSpore writes for it (``NAME.tmp`` for ``NAME.ckpt``)."""
    for path in (tmp, tmp.with_suffix(".tmp")):
        _remove(path)


def _remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass


def checkpoint_files(folder: Path) -> list[Path]:
    """``PREFIX-EPOCH_STEP.ckpt`` files of ``folder``, oldest first (by epoch, then step)."""
    found = []
    for path in Path(folder).glob("*.ckpt"):
        match = NAME.match(path.name)
        if match and not path.name.startswith("."):
            found.append(((int(match["epoch"]), int(match["step"]), path.stat().st_mtime), path))
    return [p for _, p in sorted(found)]


def last_checkpoint(run_dir: Path) -> Path | None:
    """The newest complete ``RUN_DIR/checkpoints/PREFIX-EPOCH_STEP.ckpt``, or None."""
    folder = Path(run_dir) / "checkpoints"
    files = checkpoint_files(folder) if folder.is_dir() else []
    return files[-1] if files else None


def find_resume(resume: str | None, run_dir: Path) -> Path | None:
    """The checkpoint ``resume`` points at (``auto``: the newest in RUN_DIR/checkpoints), or None."""
    if not resume:
        return None
    if str(resume) == "auto":
        files = checkpoint_files(Path(run_dir) / "checkpoints")
        if not files:
            print(f"resume=auto: no checkpoint in {Path(run_dir) / 'checkpoints'}; starting from scratch "
                  "(resume continues a run when given the same hydra.run.dir)", flush=True)
            return None
        return files[-1]
    path = Path(str(resume))
    if not path.is_file():
        raise ConfigError("resume", f"checkpoint not found: {path}",
                          expected="auto, or the path of a .ckpt written by a previous run")
    return path


@dataclass
class Resumed:
    path: Path
    global_step: int
    epoch: int          # whole epochs done: Model.train(initial_epoch=epoch)


def resume_from(path: Path, train_network, steps_per_epoch: int) -> Resumed:
    """Load weights and optimizer state into ``train_network``; where to continue."""
    import mindspore as ms
    params = _read(path, "resume")
    if "step_num" not in params:
        raise ConfigError("resume", f"{path} has no step_num", expected="a checkpoint written by mm_train")
    step = int(params.pop("step_num").asnumpy())
    params.pop("epoch_num", None)
    # the learning-rate schedule comes from the config (it may now run for more epochs)
    params = {k: v for k, v in params.items() if not k.startswith("learning_rate")}
    own = {p.name for p in train_network.get_parameters() if not p.name.startswith("learning_rate")}
    missing = sorted(own - set(params))
    if missing:
        raise ConfigError("resume", f"{path} does not hold the whole training state: missing "
                          + ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else ""),
                          expected="a checkpoint of this recipe (same network and optimizer)")
    _check_shapes(params, {p.name: p for p in train_network.get_parameters() if p.name in own}, "resume", path)
    ms.load_param_into_net(train_network, {k: v for k, v in params.items() if k in own}, strict_load=True)
    return Resumed(Path(path), step, step // steps_per_epoch)


def _read(path: Path, where: str) -> dict:
    import mindspore as ms
    try:
        return ms.load_checkpoint(str(path))
    except (ValueError, RuntimeError, OSError) as err:
        raise ConfigError(where, f"cannot read {path}: {str(err).splitlines()[0]}",
                          expected="a MindSpore .ckpt file") from None


def _check_shapes(params, own, where, path, allowed=lambda k: False) -> list[str]:
    problems = [f"shape of {k}: checkpoint {tuple(params[k].shape)}, network {tuple(p.shape)}"
                for k, p in own.items() if k in params and tuple(params[k].shape) != tuple(p.shape)
                and not allowed(k)]
    if problems and where == "resume":
        raise ConfigError(where, f"{path} does not fit:\n    " + "\n    ".join(problems[:20]))
    return problems


def load_checkpoint(network, path: str, allow_missing: Sequence[str] = (), allow_unexpected: Sequence[str] = (),
                    where: str = "init_from", ema: bool = False) -> list[str]:
    """Load a MindSpore checkpoint into ``network`` by name; every key must match unless allowed.
    Returns the names kept as built (see :mod:`mm_train.assembly.init_from` for the spec).
    With ``ema``, a ``train.ema_decay`` checkpoint's averages (``ema.NAME``) are loaded for ``NAME``.

    Missing keys, keys the network lacks, and shape mismatches are listed in one ConfigError.
    ``allow_missing`` globs name network parameters that may be missing or of another
    shape (they keep their initial values), e.g. a classifier head for other classes.
    """
    import mindspore as ms
    spec = {"allow_missing": list(allow_missing), "allow_unexpected": list(allow_unexpected)}
    if not Path(path).is_file():
        raise ConfigError(where, f"checkpoint not found: {path}", expected="a MindSpore .ckpt file")
    params = _read(Path(path), where)
    if ema:
        from mm_train.learning.ema import with_averages
        params = with_averages(params, path)

    def allowed(name: str, patterns: Sequence[str]) -> bool:
        return any(fnmatch.fnmatchcase(name, p) for p in patterns)

    own = {p.name: p for p in network.get_parameters()}
    state = {k for k in params if k in STATE_KEYS or k.startswith(STATE_PREFIXES)}
    problems = [f"missing in checkpoint: {k}" for k in own
                if k not in params and not allowed(k, spec["allow_missing"])]
    problems += [f"not in network: {k}" for k in params
                 if k not in own and k not in state and not allowed(k, spec["allow_unexpected"])]
    problems += _check_shapes(params, own, where, path, lambda k: allowed(k, spec["allow_missing"]))
    if problems:
        raise ConfigError(where, f"{path} does not fit the network:\n    " + "\n    ".join(problems[:20])
                          + (f"\n    ... and {len(problems) - 20} more" if len(problems) > 20 else ""),
                          expected="a checkpoint of this network, or init_from.allow_missing: [GLOB, ...] "
                          "for layers to keep as built (e.g. a new classifier head)")
    load = {k: params[k] for k in own if k in params and tuple(params[k].shape) == tuple(own[k].shape)}
    ms.load_param_into_net(network, load, strict_load=False)
    kept = sorted(set(own) - set(load))
    if kept:
        print(f"init_from: {len(load)} parameters loaded from {path}; kept as built: {', '.join(kept)}", flush=True)
    return kept
