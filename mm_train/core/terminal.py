"""The terminal's last line belongs to the progress bar; everything else is printed above it.

    bar = Bar(terminal_stream(sys.stdout))   # the real terminal, never the run's log file
    bar.show("epoch 1/3 [####......] 12/44 loss 0.4 ...")
    print("eval: acc=0.97")                  # through ConsoleStream: the bar is cleared, the text
                                             # printed, the bar drawn again below it
    bar.close()

Only one bar is shown at a time (:func:`active`). Frames go to the terminal only: ``run.log`` gets the
printed lines, never a bar frame. Step-by-step monitors (LossMonitor, TimeMonitor) write to the log only
while a bar is shown (:func:`log_only`): the bar already says the loss and the speed.
"""
from __future__ import annotations

import contextlib
import shutil
from typing import Iterator, TextIO

CLEAR = "\r\x1b[K"   # to the line's start, erase it

_active: "Bar | None" = None


def active() -> "Bar | None":
    return _active


def terminal_stream(stream: TextIO) -> TextIO:
    """The terminal under ``stream`` (a :class:`ConsoleStream` copying to the log writes to ``.stream``)."""
    while isinstance(stream, ConsoleStream):
        stream = stream.stream
    return stream


class Bar:
    """One line redrawn in place on a terminal."""

    def __init__(self, stream: TextIO):
        global _active
        self.stream, self.frame, self.shown = stream, "", False
        _active = self

    def _fit(self, frame: str) -> str:
        width = shutil.get_terminal_size((100, 20)).columns
        return frame if len(frame) < width else frame[:max(width - 2, 10)] + "…"

    def show(self, frame: str) -> None:
        self.frame = self._fit(frame)
        self.stream.write(CLEAR + self.frame)
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write(CLEAR)
            self.stream.flush()
            self.shown = False

    def redraw(self) -> None:
        if self.frame and not self.shown:
            self.show(self.frame)

    def close(self) -> None:
        """Leave the last frame on its own line and give the line back."""
        global _active
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()
        self.shown = False
        if _active is self:
            _active = None


class ConsoleStream:
    """stdout or stderr of a run: text goes to the terminal (above the bar, if one is shown) and to the log."""

    def __init__(self, stream: TextIO, log_file: TextIO | None = None):
        self.stream, self.log_file = stream, log_file

    def write(self, text: str) -> int:
        if self.log_file is not None:
            self.log_file.write(text)
            self.log_file.flush()
        if _log_only.on:
            return len(text)
        bar = _active
        if bar is None or not text:
            return self.stream.write(text)
        bar.clear()
        written = self.stream.write(text)
        if text.endswith("\n"):
            self.stream.flush()
            bar.redraw()
        return written

    def __getattr__(self, name):
        return getattr(self.stream, name)


class _LogOnly:
    on = False


_log_only = _LogOnly()


@contextlib.contextmanager
def log_only() -> Iterator[None]:
    """While a bar is shown, what is printed inside goes to the log file only (not over the bar)."""
    if _active is None:
        yield
        return
    _log_only.on = True
    try:
        yield
    finally:
        _log_only.on = False
