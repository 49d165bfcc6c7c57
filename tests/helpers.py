"""What the tests share: running ``run.py`` and ``mm-train`` as a user types them, reading results.

``run_main`` and ``cli_main`` run the entry points' ``main(argv)`` in this process (what most tests
need: the exit code, the output, the files a run writes); ``run_py`` and ``mm_train_cli`` start a
real process, for the tests whose point is the process boundary (mark those ``slow``).

Import from here (``from helpers import run_main``); pytest's fixtures and the environment set-up
(MindSpore's variables, the CPU device) live in conftest.py. Importing this module changes nothing.
"""
from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import traceback
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def compose(recipe: str, *overrides: str) -> dict:
    """The resolved config ``python run.py +recipe=RECIPE OVERRIDES`` would run (no Hydra run dir)."""
    from omegaconf import OmegaConf

    from mm_train.config.composition import compose_recipe
    return OmegaConf.to_container(compose_recipe(recipe, list(overrides)), resolve=True)


@dataclass
class Result:
    """What a finished command left: its exit code and what it printed (as subprocess.CompletedProcess)."""
    args: list[str]
    returncode: int
    stdout: str
    stderr: str


def run_main(*overrides: str, cwd: Path | None = None, env: dict | None = None) -> Result:
    """``python run.py OVERRIDES...`` in this process: ``mm_train.__main__.main(argv)``."""
    from mm_train.__main__ import main
    return call_main(main, list(overrides), cwd=cwd or tempfile.mkdtemp(prefix="mm_train_run_"), env=env)


def cli_main(*args: str, cwd: Path | None = None, env: dict | None = None) -> Result:
    """``mm-train ARGS...`` in this process: ``mm_train.commands.main(argv)``."""
    from mm_train.commands import main
    return call_main(main, list(args), cwd=cwd or ROOT, env=env)


def call_main(main, argv: list[str], cwd: Path, env: dict | None = None) -> Result:
    """``main(argv)`` as a process would run it: in ``cwd`` with ``env`` added to the environment,
    its output captured, SystemExit turned into the exit code and any other exception into a
    traceback on stderr with code 1. Everything it changes in this process is put back."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.ExitStack() as stack:
        if "MM_TRAIN_COMPILE_CACHE_DIR" not in (env or {}):   # MindSpore numbers cached graphs per process:
            cache = stack.enter_context(tempfile.TemporaryDirectory(prefix="mm_train_cc_"))   # no hit from
            env = {**(env or {}), "MM_TRAIN_COMPILE_CACHE_DIR": cache}                        # an earlier call
        stack.enter_context(process_state_restored(cwd, env))
        stack.enter_context(contextlib.redirect_stdout(out))
        stack.enter_context(contextlib.redirect_stderr(err))
        try:
            code = main(argv)
        except SystemExit as exit_:
            code = exit_.code
            if isinstance(code, str):
                print(code, file=sys.stderr)
                code = 1
        except Exception:  # noqa: BLE001 - a process would print the traceback and exit 1
            traceback.print_exc()
            code = 1
    return Result(argv, 0 if code is None else int(code), out.getvalue(), err.getvalue())


@contextlib.contextmanager
def process_state_restored(cwd: Path, env: dict | None):
    """Run in ``cwd`` with ``env``; afterwards restore the working directory, environment, sys.argv,
    logging (Hydra configures it per run), Hydra's global state and MindSpore's execution mode."""
    import mindspore as ms
    from hydra.core.global_hydra import GlobalHydra

    saved_env, saved_cwd, saved_argv = dict(os.environ), os.getcwd(), list(sys.argv)
    loggers = [logging.getLogger()] + [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)]
    saved_logging = [(lg, list(lg.handlers), lg.level, lg.propagate, lg.disabled) for lg in loggers]
    saved_mode = ms.get_context("mode")
    os.environ.update({k: str(v) for k, v in (env or {}).items()})
    os.environ.pop("HYDRA_FULL_ERROR", None)
    os.chdir(cwd)
    GlobalHydra.instance().clear()
    try:
        yield
    finally:
        GlobalHydra.instance().clear()
        os.chdir(saved_cwd)
        sys.argv[:] = saved_argv
        os.environ.clear()
        os.environ.update(saved_env)
        for lg in [logging.getLogger()] + [logging.getLogger(n) for n in list(logging.root.manager.loggerDict)]:
            if not isinstance(lg, logging.Logger):
                continue
            for handler in lg.handlers:
                if all(handler not in saved[1] for saved in saved_logging):
                    handler.close()
        for lg, handlers, level, propagate, disabled in saved_logging:
            if isinstance(lg, logging.Logger):
                lg.handlers[:] = handlers
                lg.setLevel(level)
                lg.propagate, lg.disabled = propagate, disabled
        if ms.get_context("mode") != saved_mode:
            ms.set_context(mode=saved_mode)


def run_py(*overrides: str, cwd: Path | None = None, env: dict | None = None, timeout: int = 600):
    """``python run.py OVERRIDES...`` in a new process; returns the CompletedProcess."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("HYDRA_FULL_ERROR", None)
    cwd = cwd or tempfile.mkdtemp(prefix="mm_train_run_")   # Hydra may create outputs/ there
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *overrides], cwd=cwd,
                          env=full_env, capture_output=True, text=True, timeout=timeout)


def mm_train_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: int = 600):
    """``mm-train ARGS...`` in a new process (through ``python -m mm_train.commands``)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "mm_train.commands", *args], cwd=cwd or ROOT, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def read_metrics(run_dir: Path) -> dict:
    return json.loads((Path(run_dir) / "metrics.json").read_text())


def assert_user_error(result: subprocess.CompletedProcess | Result, *fragments: str) -> None:
    """Exit code 2, no traceback, and every fragment in the message."""
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output, output
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


PYPROJECT = """
[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"
"""


def install_package(source: Path, files: dict[str, str], name: str):
    """Write a small package's files into ``source`` and pip-install it into this environment.

    Yields once installed and uninstalls it afterwards (use with ``yield from``).
    """
    import textwrap
    for rel, text in {"pyproject.toml": PYPROJECT, **files}.items():
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        (source / rel).write_text(textwrap.dedent(text).lstrip())
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    done = subprocess.run([*pip, "install", "--no-deps", "--no-build-isolation", "--no-index", str(source)],
                          capture_output=True, text=True, timeout=300, cwd=source)
    assert done.returncode == 0, done.stdout + done.stderr
    yield
    subprocess.run([*pip, "uninstall", "-y", name], capture_output=True, text=True, timeout=300)


DIGITS = ROOT / "mm_train" / "bundled" / "digits" / "test.mindrecord"


def write_digit_pngs(folder: Path, limit: int | None = None) -> int:
    """The bundled test digits as ``folder/<label>/<i>.png`` (the PNG bytes the MindRecord holds)."""
    import mindspore.dataset as ds
    count = 0
    for row in ds.MindDataset(str(DIGITS), columns_list=["image", "label"], shuffle=False).create_dict_iterator(
            num_epochs=1, output_numpy=True):
        if limit is not None and count >= limit:
            break
        (folder / str(int(row["label"]))).mkdir(parents=True, exist_ok=True)
        (folder / str(int(row["label"])) / f"{count:04d}.png").write_bytes(row["image"].tobytes())
        count += 1
    return count


@contextlib.contextmanager
def time_bound(seconds: int):
    """Fail instead of hanging (SIGALRM: POSIX, main thread)."""
    def expired(*_):
        raise TimeoutError(f"no answer within {seconds} s")
    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
