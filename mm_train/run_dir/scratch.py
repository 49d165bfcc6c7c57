"""``task=summary`` and ``task=check`` are reports: without ``hydra.run.dir`` they leave no folder.

    python run.py +recipe=quickstart task=summary                          # prints; writes nothing
    python run.py +recipe=quickstart task=check hydra.run.dir=runs/chk     # also runs/chk/check.txt (and the record)

Without a run directory of the user's (``hydra.run.dir=``, ``MM_TRAIN_RUN_DIR``), such a run gets a
scratch directory outside the working directory, removed when it ends, instead of ``outputs/DATE/TIME``.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator, Optional, Sequence

_scratch: Optional[Path] = None


def _task(overrides: list[str]) -> Optional[str]:
    found = [o.split("=", 1)[1] for o in overrides if "=" in o and o.split("=", 1)[0].lstrip("+~") == "task"]
    return found[-1] if found else None


def writes_nowhere(overrides: list[str], reports: Sequence[str]) -> bool:
    """A report task (one of ``reports``: the tasks registered with ``report=True``) run without a run
    directory of the user's (and not a sweep)."""
    return (_task(overrides) in reports and not os.environ.get("MM_TRAIN_RUN_DIR")
            and not any(o in ("-m", "--multirun") or o.startswith(("hydra.run.dir=", "hydra/", "hydra.sweep"))
                        for o in overrides))


@contextlib.contextmanager
def scratch_run_dir(overrides: list[str], reports: Sequence[str]) -> Iterator[list[str]]:
    """The extra override (``hydra.run.dir=SCRATCH``) for a report task that writes nowhere, else none."""
    global _scratch
    if not writes_nowhere(overrides, reports):
        yield []
        return
    _scratch = Path(tempfile.mkdtemp(prefix="mm_train_report_"))
    try:
        yield [f"hydra.run.dir={_scratch}"]
    finally:
        shutil.rmtree(_scratch, ignore_errors=True)
        _scratch = None


def is_scratch(run_dir) -> bool:
    """Whether ``run_dir`` is the scratch directory of a report task (not shown as the run's directory)."""
    return _scratch is not None and Path(run_dir).resolve() == _scratch.resolve()
