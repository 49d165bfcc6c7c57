"""End a finished ``run.py`` process without the interpreter's teardown.

After ``import mindspore`` the interpreter's finalization (module teardown, C++ static
destructors, thread pools) takes 0.3-0.6 s on an idle 2-core machine and 3-6 s when it
is busy (docs/performance.md), after every file of the run is written. ``fast_exit``
does what a normal exit does that matters here (flush stdout and stderr, run the
``atexit`` handlers: logging's flush and close, tensorboardX, MindSpore's own), then
``os._exit``.

Only after success, only in the main process of a run that is not distributed (under
msrun/mpirun the communication library is finalized by the normal exit), and not when
``MM_TRAIN_FAST_EXIT=0``.
"""
from __future__ import annotations

import atexit
import os
import sys

DISTRIBUTED_VARS = ("MS_WORKER_NUM", "MS_ROLE", "RANK_SIZE", "OMPI_COMM_WORLD_SIZE", "WORLD_SIZE")


def wanted() -> bool:
    if os.environ.get("MM_TRAIN_FAST_EXIT", "1") == "0":
        return False
    return not any(os.environ.get(var) for var in DISTRIBUTED_VARS)


def fast_exit(code: int = 0) -> None:
    """Flush, run the atexit handlers and leave with ``code`` (returns when not wanted)."""
    if not wanted():
        return
    try:
        atexit._run_exitfuncs()   # what a normal exit runs first; the rest is teardown
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)
