"""The shell commands of README.md and docs/*.md, as written in their code blocks."""
from __future__ import annotations

import re
from pathlib import Path

PROGRAMS = ("python ", "python3 ", "mm-train ", "msrun ", "mpirun ", "export ", "tensorboard ", ".venv/bin/")


def commands(path: Path) -> list[str]:
    """Commands in indented or fenced code blocks, continuation lines joined, comments dropped."""
    found, fenced, joined = [], False, ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
            continue
        code = fenced or line.startswith("    ")
        text = line.strip()
        if joined:
            joined += " " + text.rstrip("\\").strip()
            if not text.endswith("\\"):
                found.append(joined)
                joined = ""
            continue
        if not code or not text.startswith(PROGRAMS) and not text.startswith("$ "):
            continue
        text = text.removeprefix("$ ")
        text = re.sub(r"\s+#\s.*$", "", text)          # a trailing comment
        if text.endswith("\\"):
            joined = text.rstrip("\\").strip()
        else:
            found.append(text)
    return [" ".join(c.split()) for c in found]
