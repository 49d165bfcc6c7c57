"""A run's record: whether it finished, when, from which recipe file, and how each part was configured.

``run_info.json`` and ``metrics.json`` both carry::

    "status": "running" | "finished" | "interrupted" | "failed" | "diverged",
    "started": "2026-12-06T01:05:36Z", "ended": "...", "recipe_file": "...", "recipe_sha256": "..."

``metrics.json`` holds ``final`` (the last evaluation) only when the run finished; before that
(and after an interruption) the last evaluation is ``last``. A resume whose settings differ from the
run's ``config.yaml`` is refused naming the keys, unless ``resume_changes=allow``; then the earlier
config is kept as ``config.0.yaml`` (``config.1.yaml``, ...) beside the new ``config.yaml``.

    record = RunRecord(run_dir, recipe, overrides)
    record.begin(config)          # config.yaml, run_info.json: status running
    record.add(settings)          # run_info.json: what the task set up (compile cache, data workers)
    record.end("finished")        # run_info.json and metrics.json: status, ended, final

The record is the one writer of ``run_info.json`` during a run (a launcher marks a run whose process
was killed: :func:`mark_stopped`).
"""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any, Mapping

import yaml

from mm_train.core.errors import ConfigError, TrainingDiverged
from mm_train.run_dir.files import read_json, run_info, to_yaml, write_json, write_text

STATUSES = ("running", "finished", "interrupted", "failed", "diverged")
# how to continue, not what is trained: never a "changed setting"
RESUME_KEYS = ("resume", "overwrite", "resume_changes", "resume_replay")
# training longer is what resume is for; callbacks watch and save, they do not change the training:
# allowed, and recorded in the config history
ALLOWED = ("train.epochs", "callbacks")
RECORD_KEYS = ("status", "started", "ended", "recipe_file", "recipe_sha256")


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def recipe_identity(recipe: str) -> dict[str, Any]:
    """The recipe's file and the SHA-256 of its text (None for a recipe not found as a file)."""
    from mm_train.config.recipes import find
    found = find(recipe) if recipe else None
    if found is None or not Path(found.path).is_file():
        return {"recipe_file": None, "recipe_sha256": None}
    return {"recipe_file": str(Path(found.path).resolve()),
            "recipe_sha256": hashlib.sha256(Path(found.path).read_bytes()).hexdigest()}


def status_of(err: BaseException | None) -> str:
    """The status a run ends with, from what ended it (None: it returned)."""
    from mm_train.runtime.interruption import was_interrupted
    if err is None:
        return "finished"
    if was_interrupted(err) is not None:
        return "interrupted"
    if isinstance(err, TrainingDiverged):
        return "diverged"
    return "failed"


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out or {prefix: {}}
    return {prefix: value}


def changed_keys(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """The dotted keys whose values differ (lists compared whole), without :data:`RESUME_KEYS`."""
    a, b = _flatten(old), _flatten(new)
    return sorted(k for k in set(a) | set(b)
                  if a.get(k, "<unset>") != b.get(k, "<unset>") and k.split(".")[0] not in RESUME_KEYS)


def check_resume_changes(run_dir: Path, config: Mapping[str, Any]) -> list[str]:
    """Refuse a resume whose settings differ from ``RUN_DIR/config.yaml`` (unless ``resume_changes=allow``);
    the changed keys (empty when the config is the same or this is not a resume)."""
    old_file = Path(run_dir) / "config.yaml"
    if not config.get("resume") or not old_file.is_file():
        return []
    try:
        old = yaml.safe_load(old_file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return []
    changed = changed_keys(old, config)
    refused = [k for k in changed if k not in ALLOWED and k.split('.')[0] not in ALLOWED]
    allow = config.get("resume_changes", "refuse")
    if allow not in ("refuse", "allow"):
        raise ConfigError("resume_changes", f"got {allow!r}", expected="refuse or allow")
    if refused and allow != "allow":
        shown = ", ".join(f"{k} ({_short(_flatten(old).get(k, '<unset>'))} -> {_short(_flatten(config).get(k, '<unset>'))})"
                          for k in refused[:8]) + (f" and {len(refused) - 8} more" if len(refused) > 8 else "")
        raise ConfigError("resume", f"the settings differ from the run being resumed ({old_file}): {shown}",
                          expected="the same settings as that run (train.epochs and callbacks may change), or resume_changes=allow "
                          "to continue with the new ones (the earlier config is kept as config.N.yaml)")
    return changed


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= 40 else text[:37] + "..."


def keep_history(run_dir: Path) -> Path | None:
    """Move ``RUN_DIR/config.yaml`` to the next free ``config.N.yaml``; that file."""
    current = Path(run_dir) / "config.yaml"
    if not current.is_file():
        return None
    n = 0
    while (current.parent / f"config.{n}.yaml").exists():
        n += 1
    target = current.parent / f"config.{n}.yaml"
    current.replace(target)
    return target


class RunRecord:
    """The status of one run in ``run_info.json`` and ``metrics.json`` (rank 0 writes it)."""

    def __init__(self, run_dir: Path, recipe: str, overrides: list[str] | None = None, seed: Any = None,
                 metrics: bool = True):
        self.run_dir, self.metrics = Path(run_dir), metrics
        self.recipe, self.overrides, self.seed = recipe, list(overrides or []), seed
        self.fields = {"status": "running", "started": now(), "ended": None, **recipe_identity(recipe)}
        self.info: dict[str, Any] | None = None   # run_info.json as written (after begin)

    def begin(self, config: Mapping[str, Any]) -> None:
        """config.yaml (the earlier one kept if the settings changed on a resume) and run_info.json."""
        changed = check_resume_changes(self.run_dir, config)
        if changed:
            kept = keep_history(self.run_dir)
            print(f"resume: settings changed ({', '.join(changed)}); the earlier config is kept as {kept}", flush=True)
        # the header makes the file a recipe as it stands (copy it into a recipe folder to run it again)
        write_text(self.run_dir / "config.yaml", "# @package _global_\n" + to_yaml(config))
        info = {**run_info(self.recipe, self.seed, self.overrides), **self.fields}
        earlier = read_json(self.run_dir / "run_info.json") if config.get("resume") else {}
        if earlier.get("started"):   # a resume: keep when the run first started
            info["first_started"] = earlier.get("first_started") or earlier["started"]
        self.info = info
        write_json(self.run_dir / "run_info.json", info)
        if self.metrics:   # metrics.json says "running" from the start (a resumed run: again)
            self._update(self.run_dir / "metrics.json", "running")

    def header(self) -> dict[str, Any]:
        """The record's keys for ``metrics.json`` while it runs."""
        return dict(self.fields)

    def add(self, settings: Mapping[str, Any]) -> None:
        """Add ``settings`` (keys of their own) to run_info.json."""
        if self.info is not None:
            self.info.update(settings)
            write_json(self.run_dir / "run_info.json", self.info)

    def end(self, status: str) -> None:
        """Write ``status`` and the end time into run_info.json and metrics.json (created if missing)."""
        self.fields.update(status=status, ended=now())
        if self.info is not None:
            self.info.update(self.fields)
            write_json(self.run_dir / "run_info.json", self.info)
        if self.metrics:
            self._update(self.run_dir / "metrics.json", status)

    def _update(self, path: Path, status: str) -> None:
        data = {**self.fields, **(read_json(path) if path.is_file() else {"history": []})}
        data.update(self.fields, status=status)
        last = data.pop("final", None) or data.get("last")
        if status == "finished" and last is not None:
            data.pop("last", None)
            data["final"] = last
        elif last is not None:
            data["last"] = last
        if status == "running":
            data["ended"] = None
        write_json(path, data)




def mark_stopped(run_dir: Path, status: str) -> None:
    """Set ``status`` in a run's record still saying "running" (its process was stopped from outside)."""
    for name in ("run_info.json", "metrics.json"):
        path = Path(run_dir) / name
        data = read_json(path) if path.is_file() else {}
        if data.get("status") == "running":
            data.update(status=status, ended=now())
            write_json(path, data)
