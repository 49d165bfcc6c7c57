"""A sweep directory belongs to one sweep, as a run directory belongs to one run.

Hydra calls :class:`ClaimSweepDir` (conf/config.yaml: ``hydra.callbacks.claim_sweep_dir``) before
its sweeper writes ``multirun.yaml``. For a sweep directory given on the command line
(``hydra.sweep.dir=DIR``; the default one is new by its timestamp) it takes ``DIR/.lock`` for the
sweep's life, and refuses, exit 2, a second sweep while the first runs or when DIR already holds a
sweep's results (unless ``resume=auto`` or ``overwrite=true`` is given), before anything is written::

    python run.py -m +recipe=quickstart seed=1,2 hydra.sweep.dir=sweeps/a    # takes sweeps/a/.lock
    python run.py -m +recipe=quickstart seed=3 hydra.sweep.dir=sweeps/a      # exit 2: holds results
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Optional

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from mm_train.run_dir import owner
from mm_train.core.errors import ConfigError


def _fixed_dir(config: DictConfig) -> Optional[Path]:
    """The sweep directory when the user fixed it (no ``${now:...}`` in it), else None."""
    raw = OmegaConf.to_container(config.hydra.sweep, resolve=False).get("dir")
    if not isinstance(raw, str) or "${now:" in raw:
        return None
    return Path(str(config.hydra.sweep.dir))


class ClaimSweepDir(Callback):
    def __init__(self) -> None:
        self.lock: Optional[Path] = None

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        try:
            self._claim(config)
            from mm_train.app.sweep_check import check_jobs
            check_jobs(config)   # every job's values, before the first one starts
        except ConfigError as err:
            self.release()   # Hydra turns a callback's exception into a warning: exit here, as run.py does
            print(f"error: {err}", file=sys.stderr)
            sys.exit(ConfigError.exit_code)

    def _claim(self, config: DictConfig) -> None:
        sweep_dir = _fixed_dir(config)
        if sweep_dir is None:
            return
        sweep_dir.mkdir(parents=True, exist_ok=True)
        lock = sweep_dir / owner.LOCK
        if owner._holder(lock).get("pid") == os.getpid():   # an earlier sweep of this process ended by an error
            lock.unlink(missing_ok=True)
        try:
            self.lock = owner.acquire(sweep_dir)
        except ConfigError as err:
            raise ConfigError("hydra.sweep.dir", err.problem, expected="another hydra.sweep.dir, or wait for "
                              "that sweep to end") from None
        overrides = [str(o) for o in config.hydra.overrides.task]
        continuing = any(o.split("=", 1)[0].lstrip("+") in ("resume", "overwrite") for o in overrides)
        jobs = [p.parent.name for p in sorted(sweep_dir.glob("*/metrics.json"))]
        if jobs and not continuing:
            self.release()
            raise ConfigError("hydra.sweep.dir", f"{sweep_dir} already holds the results of a sweep (jobs "
                              f"{', '.join(jobs[:5])}{'...' if len(jobs) > 5 else ''})",
                              expected="another hydra.sweep.dir, or resume=auto / overwrite=true for every job")

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        self.release()

    def release(self) -> None:
        if self.lock is not None and owner._holder(self.lock).get("pid") == os.getpid():
            self.lock.unlink(missing_ok=True)
        self.lock = None
