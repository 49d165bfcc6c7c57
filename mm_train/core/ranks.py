"""Where this process stands in a distributed job: the one place that asks (no side effects).

    current()            # Rank(rank=1, size=2, local_rank=1) once mindspore.communication is initialised
    from_environment()   # the launcher's variables (msrun, mpirun) before init(), or None
    launched()           # whether msrun / mpirun started this process as one of several workers

Every answer is a :class:`Rank`, never a bare tuple.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Mapping

# (rank variable, size variable) of each launcher, in the order they are tried
ENVIRONMENTS = (("RANK_ID", "RANK_SIZE"), ("RANK_ID", "MS_WORKER_NUM"),
                ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"))


@dataclass(frozen=True)
class Rank:
    """``Rank(rank=1, size=2)`` is the second of two processes."""
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


SINGLE = Rank()


def _int(environ: Mapping[str, str], var: str) -> int | None:
    try:
        return int(environ[var])
    except (KeyError, ValueError):
        return None


def launched(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether msrun (or MindSpore's other dynamic-cluster launchers) or mpirun started this process
    as one of several workers.

    >>> launched({"MS_ROLE": "MS_WORKER", "MS_WORKER_NUM": "2"}), launched({})
    (True, False)
    """
    if environ.get("MS_ROLE") == "MS_WORKER":
        return True
    return any((_int(environ, var) or 0) > 1 for var in ("MS_WORKER_NUM", "RANK_SIZE", "OMPI_COMM_WORLD_SIZE"))


def local_rank(environ: Mapping[str, str] = os.environ) -> int:
    """The rank on this machine: msrun's ``DEVICE_ID``, mpirun's ``OMPI_COMM_WORLD_LOCAL_RANK``."""
    for var in ("OMPI_COMM_WORLD_LOCAL_RANK", "DEVICE_ID", "LOCAL_RANK"):
        value = _int(environ, var)
        if value is not None:
            return value
    return 0


def from_environment(environ: Mapping[str, str] = os.environ) -> Rank | None:
    """The rank a launcher's environment variables give (before ``init()``), or None for one process.

    >>> from_environment({"RANK_ID": "1", "RANK_SIZE": "2"})
    Rank(rank=1, size=2, local_rank=0)
    """
    for rank_var, size_var in ENVIRONMENTS:
        if environ.get(rank_var) not in (None, "") and environ.get(size_var) not in (None, ""):
            size, rank = _int(environ, size_var), _int(environ, rank_var)
            if size is not None and rank is not None and size > 1:
                return Rank(rank, size, local_rank(environ))
    return None


def initialised() -> Rank | None:
    """The rank from ``mindspore.communication`` once ``init()`` ran, else None.

    Does not import MindSpore: before it is imported, nothing can have been initialised.
    """
    if "mindspore" not in sys.modules:
        return None
    try:
        from mindspore.communication import management
    except ImportError:
        return None
    if not getattr(management.GlobalComm, "INITED", False):
        return None
    return Rank(management.get_rank(), management.get_group_size(), local_rank())


def current() -> Rank:
    """This process's :class:`Rank`: from ``mindspore.communication`` once initialised, else rank 0 of 1."""
    return initialised() or SINGLE
