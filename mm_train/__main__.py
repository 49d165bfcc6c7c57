"""``python -m mm_train [overrides]`` and ``mm-train run [overrides]``: what ``python run.py`` does, from any folder.

    python -m mm_train +recipe=quickstart train.epochs=3
    mm-train run -m +recipe=quickstart lr_schedule.lr_max=0.1,0.05

The Hydra app reads conf/ next to the source tree, else the copy installed with the wheel.
"""
from __future__ import annotations

import sys

from mm_train.runtime import interruption


def main(argv: list[str] | None = None, own_process: bool | None = None) -> int:
    """Run the Hydra app on ``argv`` (default: the command line); ``own_process`` (default: no ``argv``
    given) means this is the process's whole work: signals are handled and the exit is fast."""
    own_process = argv is None if own_process is None else own_process
    if own_process:   # Ctrl-C / SIGTERM end it with one line, also while it starts
        interruption.install()
    try:
        return _run(argv, own_process)
    except SystemExit as done:
        if own_process and interruption.received() is not None:   # no teardown of a half-started MindSpore
            interruption.exit_now(done.code if isinstance(done.code, int) else 1)
        raise
    except BaseException as err:   # interrupted before the run directory was known (imports, composition)
        signum = interruption.was_interrupted(err)
        if signum is None:
            raise
        print(interruption.message(signum), file=sys.stderr, flush=True)
        if own_process:
            interruption.exit_now(128 + signum)
        raise SystemExit(128 + signum) from None


def _run(argv: list[str] | None, own_process: bool) -> int:
    import hydra

    from mm_train.app.entry import quiet_broken_pipe, reported_errors, task
    from mm_train.core.fast_exit import fast_exit
    from mm_train.core.locations import CONF_DIR
    from mm_train.config.inheritance import swap_overrides
    if argv is not None:
        sys.argv = [sys.argv[0], *argv]
    # component swaps (loss={type: ...}, loss.type=X) compose as a child recipe's would
    sys.argv = [sys.argv[0], *swap_overrides(sys.argv[1:])]
    from mm_train.jobs import TASKS, task_flag
    from mm_train.run_dir.scratch import scratch_run_dir
    reports = [name for name in TASKS.names() if task_flag(name, "report")]   # summary, check
    app = hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")(task)
    with quiet_broken_pipe(), reported_errors(), scratch_run_dir(sys.argv[1:], reports) as scratch:
        sys.argv += scratch   # task=summary / check without hydra.run.dir: no outputs/DATE/TIME folder
        app()
    if own_process:   # a process of its own: every file is written, skip the interpreter's teardown
        fast_exit()
    return 0


if __name__ == "__main__":
    main()
