"""The run's ``.hydra/`` record (config.yaml, hydra.yaml, overrides.yaml), written once the run holds its directory.

Hydra writes ``.hydra/`` before the task function runs, so a run refused because the directory is
in use or holds results would replace the owner's record. conf/config.yaml sets
``hydra.output_subdir: null``; the task stages the same three files (:func:`stage`) and
:func:`mm_train.jobs.execute` writes them (:func:`write`) after :func:`mm_train.run_dir.owner.claim`::

    stage(task_cfg, HydraConfig.instance().cfg)   # at the start of the task
    write(run_dir)                                 # rank 0, under the run directory's lock
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from omegaconf import DictConfig, OmegaConf

SUBDIR = ".hydra"
_staged: Optional[dict[str, str]] = None


def stage(task_cfg: DictConfig, hydra_cfg: DictConfig) -> None:
    """Keep the texts Hydra would have written into ``.hydra/`` (the task config as composed)."""
    global _staged
    _staged = {"config.yaml": OmegaConf.to_yaml(task_cfg), "hydra.yaml": OmegaConf.to_yaml(hydra_cfg),
               "overrides.yaml": OmegaConf.to_yaml(hydra_cfg.hydra.overrides.task)}


def write(run_dir: Path) -> Optional[Path]:
    """Write the staged record into ``RUN_DIR/.hydra/`` (nothing when no Hydra app staged one)."""
    global _staged
    if _staged is None:
        return None
    from mm_train.run_dir.files import write_text
    folder = Path(run_dir) / SUBDIR
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in _staged.items():
        write_text(folder / name, text)
    _staged = None
    return folder


def clear() -> None:
    """Forget a staged record (the task ended, written or not)."""
    global _staged
    _staged = None
