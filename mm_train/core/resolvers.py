"""OmegaConf resolvers available in every recipe.

``${mm_bundled:}`` is the folder of the data sets shipped with mm_train
(``${paths.bundled}/digits/train.mindrecord``).

Under a distributed launch (msrun / mpirun) conf/config.yaml uses two more, read from the
launcher's environment: ``${mm_log_name:run}`` is ``rank_N`` on rank N (``run`` otherwise), the
name of each rank's log file. ``${mm_main_rank_only:X}`` is null on ranks other than 0 (``.hydra/``
itself is written by rank 0 once it holds the run directory: :mod:`mm_train.run_dir.hydra_record`).
"""
from pathlib import Path

from omegaconf import OmegaConf

from mm_train.core import ranks

BUNDLED_DIR = Path(__file__).resolve().parents[1] / "bundled"


def _launch_rank() -> int | None:
    found = ranks.from_environment()
    return found.rank if found else None


def log_name(default: str) -> str:
    rank = _launch_rank()
    return default if rank is None else f"rank_{rank}"


def main_rank_only(value):
    return value if (_launch_rank() or 0) == 0 else None


def register() -> None:
    if not OmegaConf.has_resolver("mm_bundled"):
        OmegaConf.register_new_resolver("mm_bundled", lambda: str(BUNDLED_DIR))
    if not OmegaConf.has_resolver("mm_log_name"):
        OmegaConf.register_new_resolver("mm_log_name", log_name)
    if not OmegaConf.has_resolver("mm_main_rank_only"):
        OmegaConf.register_new_resolver("mm_main_rank_only", main_rank_only)


register()
