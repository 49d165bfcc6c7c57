"""Time and peak memory of refusing each hostile recipe file (tests/hostile_recipes.py).

Runs ``mm-train recipes validate NAME`` in its own process per file (killed past 60 s or 3 GB RSS)
and prints a table: seconds, peak RSS, exit code, the first words of the message.

    python bench/recipe_bombs.py
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from hostile_recipes import write_all  # noqa: E402

CAP_BYTES, TIMEOUT = 3 << 30, 60


def measure(name: str, env: dict) -> tuple[float, int, int, str]:
    start = time.time()
    proc = subprocess.Popen([sys.executable, "-m", "mm_train.commands", "recipes", "validate", name], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak, watched = 0, psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            peak = max(peak, sum(p.memory_info().rss for p in [watched, *watched.children(recursive=True)]))
        except psutil.Error:
            pass
        if peak > CAP_BYTES or time.time() - start > TIMEOUT:
            proc.kill()
        time.sleep(0.05)
    out = proc.stdout.read()
    message = next((line for line in out.splitlines() if line.startswith("FAILED")), out.strip()[-80:])
    return time.time() - start, peak, proc.returncode, message.split(": ", 1)[-1][:70]


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="recipe_bombs_")) / "recipes"
    cases = write_all(folder)
    env = {**os.environ, "MM_TRAIN_RECIPE_PATH": str(folder), "PYTHONPATH": str(ROOT)}
    rows = [("quickstart", "a built-in recipe (reference)")] + [(name, kind) for name, (_, kind) in cases.items()]
    print(f"{'case':<26} {'seconds':>7} {'peak MB':>8} {'exit':>4}  message")
    for name, kind in rows:
        seconds, peak, code, message = measure(name, env)
        print(f"{kind:<26} {seconds:7.2f} {peak / 1e6:8.0f} {code:>4}  {message}")


if __name__ == "__main__":
    main()
