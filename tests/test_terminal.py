"""On a terminal the progress bar owns the last line: loss and eval lines never run into a bar frame on the
screen, and run.log holds the printed lines without any bar frame. Run under a pseudo-terminal (the terminal
is the point, so a process of its own: marked slow)."""
from __future__ import annotations

import os
import pty
import re
import subprocess
import sys

import pytest

from helpers import ROOT

pytestmark = pytest.mark.slow
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def screen_lines(raw: str) -> list[str]:
    """What a terminal shows at the end: carriage return, erase-line (ESC[K) and newline applied."""
    lines = []
    for line in raw.replace("\r\n", "\n").split("\n"):
        shown, cursor = [], 0
        for token in re.split(r"(\r|\x1b\[[0-9;]*[A-Za-z])", line):
            if token == "\r":
                cursor = 0
            elif token == "\x1b[K":
                del shown[cursor:]
            elif token and not ANSI.fullmatch(token):
                shown[cursor:cursor + len(token)] = token
                cursor += len(token)
        lines.append("".join(shown).rstrip())
    return lines


def run_on_a_terminal(*overrides: str) -> tuple[int, str]:
    main, child = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    env.update(COLUMNS="120", LINES="40")
    process = subprocess.Popen([sys.executable, str(ROOT / "run.py"), *overrides], cwd=ROOT, env=env,
                               stdin=child, stdout=child, stderr=child, close_fds=True)
    os.close(child)
    chunks = []
    while True:
        try:
            data = os.read(main, 65536)
        except OSError:   # the child side closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(main)
    return process.wait(timeout=300), b"".join(chunks).decode("utf-8", "replace")


def test_the_bar_owns_the_line_on_a_terminal_and_run_log_has_no_frames(tmp_path):
    code, raw = run_on_a_terminal("+recipe=quickstart", "+dataset.train.limit=256", "train.epochs=3",
                                  "callbacks.1.per_print_times=1", f"hydra.run.dir={tmp_path}")
    assert code == 0, raw[-3000:]
    lines = [line for line in screen_lines(raw) if line]
    bars = [line for line in lines if line.startswith("epoch ") and "img/s ETA" in line]
    assert len(bars) == 1, lines   # one bar, redrawn in place; its last frame is left at the end
    assert re.fullmatch(r"epoch 3/3 \[#{20}\] 8/8 loss \d+\.\d{4} lr [0-9.e-]+ \d+ img/s ETA 0:00:00", bars[0]), bars
    for line in lines:   # nothing runs into a frame, and no frame into a line
        assert line in bars or ("ETA" not in line and "[#" not in line), line
    assert "loss is" not in raw    # LossMonitor's lines go to the log while the bar shows the loss
    evals = [line for line in lines if line.startswith("eval: ")]
    assert [line.split(",")[0] for line in evals] == ["eval: epoch=1", "eval: epoch=2", "eval: epoch=3"]
    assert lines.index(evals[-1]) < lines.index(bars[0])   # printed above the bar

    log = (tmp_path / "run.log").read_text()
    assert "\r" not in log and "ETA" not in log and "\x1b" not in log
    assert log.count("loss is") == 24 and log.count("eval: epoch=") == 3
