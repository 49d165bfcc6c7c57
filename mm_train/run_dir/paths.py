"""File names a recipe gives for what a run writes: plain names inside the run directory.

Every file-name argument of a recipe (ModelCheckpoint ``prefix``, TensorBoard ``subdir``,
PlotCurves ``name``, ``export.file_name``, and any future one typed :class:`RunFileName`) goes
through :func:`name_problem` at validation and :func:`inside` when the file is written::

    name_problem("resnet50")      # None: fine
    name_problem("../../x")       # "'../../x' is a path ..."
    inside(run_dir, "model", "export.file_name")   # RUN_DIR/model, or a ConfigError naming the key

A name has no ``/`` or ``\\``, is not ``..``, does not start with ``.`` or ``~`` (the run's own
``.lock`` and ``.hydra/``), has no control characters and fits the file system (255 bytes).
"""
from __future__ import annotations

from pathlib import Path

from mm_train.core.errors import ConfigError

RULE = ("a plain file name inside the run directory: no '/', no '..', no absolute path, "
        "not starting with '.' or '~', at most 200 bytes")
MAX_BYTES = 200   # the file system allows 255; the run adds suffixes such as -12_345.ckpt


def name_problem(value) -> str | None:
    """Why ``value`` is not a plain file name inside the run directory, or None."""
    if not isinstance(value, str) or not value:
        return f"got {value!r}"
    if "/" in value or "\\" in value or value.startswith(("~", ".")):
        return f"'{value}' is a path, not a file name inside the run directory"
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return f"{value!r} has control characters"
    if len(value.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        return f"a name of {len(value.encode('utf-8', 'surrogatepass'))} bytes"
    return None


def check(value, where: str) -> str:
    """``value`` if it is a plain file name, else a ConfigError naming ``where``."""
    problem = name_problem(value)
    if problem is not None:
        raise ConfigError(where, problem, expected=RULE)
    return value


def inside(run_dir: Path, name, where: str) -> Path:
    """``RUN_DIR/name``, checked: a plain name whose resolved path stays in the run directory."""
    check(name, where)
    run_dir = Path(run_dir)
    path = run_dir / name
    resolved, root = path.resolve(), run_dir.resolve()
    if resolved != root / name and not resolved.is_relative_to(root):   # a symlink placed in the run dir
        raise ConfigError(where, f"{path} leads outside the run directory (to {resolved})", expected=RULE)
    return path
