"""``python -m mm_train [overrides]`` and ``mm-train run [overrides]``: what ``python run.py`` does, from any folder.

    python -m mm_train +recipe=quickstart train.epochs=3
    mm-train run -m +recipe=quickstart lr_schedule.lr_max=0.1,0.05

The Hydra app reads conf/ next to the source tree, else the copy installed with the wheel.
"""
from __future__ import annotations

import sys

import hydra

from mm_train.entry import quiet_broken_pipe, reported_errors, task
from mm_train.fast_exit import fast_exit
from mm_train.locations import CONF_DIR


def main(argv: list[str] | None = None) -> int:
    """Run the Hydra app on ``argv`` (default: the command line)."""
    if argv is not None:
        sys.argv = [sys.argv[0], *argv]
    app = hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")(task)
    with quiet_broken_pipe(), reported_errors():
        app()
    if argv is None:   # a process of its own: every file is written, skip the interpreter's teardown
        fast_exit()
    return 0


if __name__ == "__main__":
    main()
