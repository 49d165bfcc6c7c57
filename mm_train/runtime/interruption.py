"""Ctrl-C (SIGINT) and SIGTERM as an ordinary end of a run: one line, no traceback.

    install()                          # first thing in a process: both signals raise Interrupted
    with phase("eval at epoch 3"):     # what the line will say was interrupted
        ...
    with deferred():                   # a checkpoint write: a signal waits until the file is complete
        ...

The line names what was interrupted, the last complete checkpoint and the command that
continues the run (``... hydra.run.dir=RUN_DIR resume=auto``); the exit code is 128 + the
signal (130 for SIGINT, 143 for SIGTERM), as a shell reports a process a signal ended.

MindSpore installs its own C-level SIGINT handler around every step it runs
(``mindspore::DefaultIntHandler``, which sends the process SIGTERM). So SIGINT is blocked in
every thread and one thread takes it with ``sigwait`` and hands it to the main thread
(``_thread.interrupt_main``): MindSpore's handler never sees it.
"""
from __future__ import annotations

import _thread
import contextlib
import shlex
import signal
import sys
import threading
from pathlib import Path
from typing import Iterator, Sequence

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """Raised in the main thread by SIGINT / SIGTERM (a BaseException: ``except Exception`` lets it pass)."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(signal.Signals(signum).name)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class _State:
    received: int | None = None     # the first signal received
    raised = False                  # Interrupted was raised once: later signals are only noted
    deferring = 0                   # depth of deferred() sections
    phase = "start-up"
    note = ""                       # what was done about it ("the partial files were removed")
    taker: threading.Thread | None = None   # the thread that takes SIGINT


_state = _State()


def _handler(signum, frame):
    if _state.received is None:
        _state.received = signum
    if _state.deferring or _state.raised:
        return
    _state.raised = True
    raise Interrupted(signum)


def install(block_sigint: bool = True) -> None:
    """SIGINT and SIGTERM raise :class:`Interrupted` in the main thread. Call it first in a process,
    before any thread starts: SIGINT is blocked in this thread and every thread started later
    (``block_sigint=False`` for a process that starts others which must see SIGINT: ``mm-train launch``)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in SIGNALS:
        signal.signal(sig, _handler)
    if not block_sigint or _state.taker is not None:
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    _state.taker = threading.Thread(target=_take_sigint, name="mm_train-sigint", daemon=True)
    _state.taker.start()


def _take_sigint() -> None:
    while True:
        signal.sigwait({signal.SIGINT})
        _thread.interrupt_main(signal.SIGINT)   # runs _handler in the main thread


def installed() -> bool:
    return signal.getsignal(signal.SIGINT) is _handler


def received() -> int | None:
    """The signal that interrupted this process, or None."""
    return _state.received


def reset() -> None:
    """Forget a received signal (tests that interrupt in process)."""
    _state.received, _state.raised, _state.deferring, _state.phase, _state.note = None, False, 0, "start-up", ""


def current_phase() -> str:
    return _state.phase


def set_phase(name: str) -> None:
    _state.phase = name


def add_note(text: str) -> None:
    """Say in the line what was done about the interrupted work (e.g. partial files removed)."""
    _state.note = f"{_state.note}; {text}" if _state.note else text


@contextlib.contextmanager
def phase(name: str) -> Iterator[None]:
    """Name what runs inside (the line says "interrupted during NAME"; kept when the block is left by an error)."""
    before, _state.phase = _state.phase, name
    yield
    _state.phase = before


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """A signal inside waits until the block is done (a file being written is finished, then renamed)."""
    _state.deferring += 1
    try:
        yield
    finally:
        _state.deferring -= 1
    if not _state.deferring and _state.received is not None and not _state.raised:
        _state.raised = True
        raise Interrupted(_state.received)


def was_interrupted(err: BaseException) -> int | None:
    """The signal behind ``err``: an Interrupted, or any error raised while a signal was being handled
    (a module import cut short reads ``ImportError: initialization failed``)."""
    if isinstance(err, Interrupted):
        return err.signum
    if isinstance(err, KeyboardInterrupt):
        return signal.SIGINT
    return _state.received


def command_line(overrides: Sequence[str], run_dir: Path, hydra_overrides: Sequence[str] = ()) -> str:
    """The command that continues the run in ``run_dir``: the same overrides, its run dir, resume=auto."""
    argv0 = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    program = {"run.py": "python run.py", "mm-train": "mm-train run"}.get(argv0, "python -m mm_train")
    dropped = ("resume", "overwrite", "hydra.run.dir", "hydra.mode")
    kept = [o for o in [*hydra_overrides, *overrides] if o.lstrip("+~").split("=", 1)[0] not in dropped]
    return " ".join([program, *map(shlex.quote, kept), shlex.quote(f"hydra.run.dir={run_dir}"), "resume=auto"])


def exit_now(code: int) -> None:
    """Leave with ``code`` at once: flush the console and the logs, skip the atexit handlers and the
    interpreter's teardown (a half-imported MindSpore fails in both with tracebacks)."""
    import logging
    import os
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    for handler in logging.getLogger().handlers:
        try:
            handler.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def message(signum: int, run_dir: Path | None = None, command: str | None = None,
            checkpoint: Path | None = None) -> str:
    """The one line an interrupted run ends with (``checkpoint``: the last complete one in ``run_dir``)."""
    name = signal.Signals(signum).name
    text = f"interrupted ({name}) during {_state.phase}"
    if _state.note:
        text += f"; {_state.note}"
    if run_dir is None:
        return text if _state.note else text + "; nothing was written"
    text += (f"; last complete checkpoint: {checkpoint}" if checkpoint
             else "; no checkpoint written yet")
    if command:
        text += f"; continue with: {command}"
    return text
