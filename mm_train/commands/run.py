"""``mm-train run OVERRIDES``: train, evaluate or inspect a recipe, exactly as ``python run.py OVERRIDES``.

    mm-train run +recipe=quickstart train.epochs=3
    mm-train run -m +recipe=quickstart lr_schedule.lr_max=0.1,0.05

Hydra parses everything after ``run`` (:func:`mm_train.commands.main` hands it to ``mm_train.__main__``);
the parser here only lists ``run`` in ``mm-train --help``.
"""
from __future__ import annotations


def add_to(sub) -> None:
    """``run`` in ``mm-train --help`` only: :func:`mm_train.commands.main` hands ``run ...`` to Hydra unparsed."""
    sub.add_parser("run", help="train, evaluate or inspect a recipe: the same as python run.py (Hydra's command "
                   "line: mm-train run +recipe=quickstart train.epochs=3; mm-train run --help)", add_help=False)
