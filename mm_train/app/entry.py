"""What ``run.py`` calls: the Hydra task function and the reporting of user errors.

User errors (ConfigError, and Hydra's own composition errors: an unknown recipe,
group option or key) are printed as one message, with "did you mean", and the
process exits with code 2; training verdicts (:class:`mm_train.core.errors.TrainingVerdict`:
diverged, cannot learn, check failed) likewise with code 1. Anything else is a bug
and keeps its traceback.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path

from omegaconf import DictConfig

from mm_train.runtime import interruption
from mm_train.core import resolvers  # noqa: F401  (registers ${mm_bundled:})
from mm_train.config.composition import hydra_message
from mm_train.core.errors import ConfigError, TrainingVerdict

log = logging.getLogger(__name__)


def no_recipe_message() -> str:
    from mm_train.config.recipes import all_recipes
    recipes, _ = all_recipes()
    width = max((len(n) for n in recipes), default=0)
    lines = [f"  {name:<{width}}  {r.description}" for name, r in sorted(recipes.items())]
    return ("no recipe chosen: pick one with +recipe=NAME, for example\n"
            "  python run.py +recipe=quickstart\n\navailable recipes:\n" + "\n".join(lines))


def recipe_line(name: str) -> str:
    """"recipe NAME: FILE" and the files it shadows (the first line of a run and of recipes show)."""
    from mm_train.config.recipes import find, shadowed_by
    found = find(name)
    line = f"recipe {name}: {found.path if found else '?'}"
    return line + "".join(f" (shadows {hidden.path})" for _, hidden in shadowed_by(name))


def task(cfg: DictConfig):
    """The Hydra task function: run the chosen recipe in Hydra's output directory."""
    from hydra.core.hydra_config import HydraConfig

    from mm_train.run_dir import hydra_record
    from mm_train.jobs import execute, task_flag

    hydra_cfg = HydraConfig.get()
    hydra_record.stage(cfg, HydraConfig.instance().cfg)   # written into .hydra/ under the run dir's lock
    recipe = hydra_cfg.runtime.choices.get("recipe")
    if recipe is not None and cfg.get("task") is not None:   # a run dir in use or holding results: untouched,
        from omegaconf import OmegaConf
        from omegaconf.errors import OmegaConfBaseException

        from mm_train.config import interpolation_bounds

        from mm_train.core import ranks
        from mm_train.run_dir.owner import check_free
        try:                                                 # run.log included (its handler opens on first use)
            interpolation_bounds.check(OmegaConf.to_container(cfg, resolve=False))   # before any value resolves
            launched = ranks.from_environment()   # under msrun: only rank 0 (the others share its directory)
            if launched is None or launched.rank == 0:
                check_free(hydra_cfg.runtime.output_dir, cfg, task_flag(cfg.get("task", "train"), "keeps_results"))
        except OmegaConfBaseException:
            pass   # a value that does not resolve: validation names it, after the log opens
        except ConfigError as err:
            hydra_record.clear()
            print(f"error: {err}", file=sys.stderr)
            sys.exit(ConfigError.exit_code)
    run_dir = Path(hydra_cfg.runtime.output_dir).resolve()
    with console_copied_to_log():   # run.log holds what the console shows, the final error included
        try:
            if recipe is None:
                raise ConfigError("", no_recipe_message())
            log.info(recipe_line(recipe))
            from mm_train.run_dir.scratch import is_scratch
            if not is_scratch(run_dir):   # a report task without hydra.run.dir writes nowhere
                log.info(f"run directory: {run_dir}")
            from mm_train.config.inheritance import replace_retyped
            replace_retyped(cfg, recipe, list(hydra_cfg.overrides.task))
            result = execute(cfg, hydra_cfg.runtime.output_dir, recipe, list(hydra_cfg.overrides.task))
            if task_flag(cfg.get("task"), "keeps_results"):   # summary, check, export, predict end with their own report
                print_summary(hydra_cfg.runtime.output_dir)
            return result
        except ConfigError as err:   # exit here: Hydra would add its own "Error executing job" lines
            print(f"error: {err}", file=sys.stderr)
            sys.exit(ConfigError.exit_code)
        except TrainingVerdict as verdict:   # diverged, cannot learn, check failed: exit 1, no traceback
            print(f"error: {verdict}", file=sys.stderr)
            sys.exit(verdict.exit_code)
        except BaseException as err:   # Ctrl-C / SIGTERM: one line saying how to continue, exit 128 + signal
            signum = interruption.was_interrupted(err)
            if signum is None or isinstance(err, SystemExit):
                raise
            command = interruption.command_line(list(hydra_cfg.overrides.task), run_dir,
                                                list(hydra_cfg.overrides.hydra))
            from mm_train.core.terminal import active
            if active() is not None:   # the line is printed below the bar's last frame
                active().close()
            from mm_train.runtime.checkpoints import last_checkpoint
            message = interruption.message(signum, run_dir, command, last_checkpoint(run_dir))
            print(message, file=sys.stderr, flush=True)
            _ensure_in_log(message)   # a signal that lands inside a log write can lose the copy above
            raise SystemExit(128 + signum) from None
        finally:
            hydra_record.clear()   # a record not written (a refused run) is never written by a later execute()


def _ensure_in_log(text: str) -> None:
    """Append ``text`` to the run's log file unless its last lines already hold it."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            path = Path(handler.baseFilename)
            try:
                tail = path.read_text(encoding="utf-8", errors="replace")[-8192:] if path.exists() else ""
                if text not in tail:
                    with open(path, "a", encoding="utf-8") as log_file:
                        log_file.write(text + "\n")
            except OSError:
                pass
            return


@contextlib.contextmanager
def console_copied_to_log():
    """What the run prints (print, MindSpore's callbacks) also goes to Hydra's log file (run.log / rank_N.log).

    Log records already reach the file through Hydra's file handler; this adds everything else.
    """
    files = [h.baseFilename for h in logging.getLogger().handlers if isinstance(h, logging.FileHandler)]
    if not files:
        yield
        return
    from mm_train.core.terminal import ConsoleStream   # a progress bar's frames stay on the terminal
    with open(files[0], "a", encoding="utf-8") as log_file:
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = ConsoleStream(sys.stdout, log_file), ConsoleStream(sys.stderr, log_file)
        try:
            yield
        finally:
            sys.stdout, sys.stderr = saved


def print_summary(run_dir) -> None:
    """The last lines of a run: final metrics, the best checkpoint, the run directory (rank 0 only)."""
    import json
    from pathlib import Path

    from mm_train.core import ranks
    found = ranks.from_environment()
    if found is not None and found.rank != 0:
        return
    run_dir = Path(run_dir).resolve()
    metrics = run_dir / "metrics.json"
    if metrics.is_file():
        final = json.loads(metrics.read_text()).get("final") or {}
        print("final metrics: " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                            for k, v in final.items()))
    checkpoints = sorted((run_dir / "checkpoints").glob("*.ckpt"), key=lambda p: p.stat().st_mtime)
    best = [p for p in checkpoints if p.stem.endswith("-best")]
    if checkpoints:
        print(f"{'best' if best else 'last'} checkpoint: {(best or checkpoints)[-1]}")
    print(f"run directory: {run_dir}", flush=True)


@contextlib.contextmanager
def quiet_broken_pipe():
    """A reader that stops early (``mm-train blocks ls | head -1``) ends the command quietly, exit 0."""
    try:
        yield
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)   # Python flushes stdout at exit: point it somewhere open
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)


def _in_hydra_setup(err: BaseException) -> bool:
    """Whether ``err`` comes from Hydra preparing the job (its directories, its log file), not from the task."""
    frames, tb = [], err.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame.f_code)
        tb = tb.tb_next
    in_hydra = any(f"{os.sep}hydra{os.sep}" in code.co_filename for code in frames)
    in_task = any(code.co_name == "task" and code.co_filename == __file__ for code in frames)
    return in_hydra and not in_task


def run_dir_message(err: OSError) -> str:
    """``hydra.run.dir: cannot create ...: Read-only file system (expected ...)`` for an OSError of Hydra's setup."""
    from pathlib import Path

    path = err.filename or "the run directory"
    if isinstance(err, (FileExistsError, NotADirectoryError)):
        blocking = next((p for p in [Path(path), *Path(path).parents] if p.exists() and not p.is_dir()), path)
        problem = f"{blocking} is a file, not a directory" + (f" (for {path})" if str(blocking) != str(path) else "")
    else:
        problem = f"cannot write {path}: {err.strerror or err}"
    return str(ConfigError("hydra.run.dir", problem, expected="a directory this user can write "
                           "(another hydra.run.dir or hydra.sweep.dir)"))


@contextlib.contextmanager
def reported_errors():
    """Turn user errors into one message on stderr and exit code 2."""
    os.environ.setdefault("HYDRA_FULL_ERROR", "1")   # Hydra re-raises; we report
    try:
        yield
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(ConfigError.exit_code)
    except OSError as err:   # Hydra creating the run dir or its log: read-only, a file, no permission
        message = hydra_message(err)   # Hydra's MissingConfigException is an OSError too
        if message is None and not _in_hydra_setup(err):
            raise
        print(f"error: {message or run_dir_message(err)}", file=sys.stderr)
        sys.exit(ConfigError.exit_code)
    except Exception as err:  # noqa: BLE001 - only Hydra's composition errors are handled here
        message = hydra_message(err)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        sys.exit(ConfigError.exit_code)
