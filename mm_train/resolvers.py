"""OmegaConf resolvers available in every recipe.

``${mm_bundled:}`` is the folder of the data sets shipped with mm_train
(``${paths.bundled}/digits/train.mindrecord``).
"""
from pathlib import Path

from omegaconf import OmegaConf

BUNDLED_DIR = Path(__file__).resolve().parent / "bundled"


def register() -> None:
    if not OmegaConf.has_resolver("mm_bundled"):
        OmegaConf.register_new_resolver("mm_bundled", lambda: str(BUNDLED_DIR))


register()
