"""Hydra discovers mm_train's recipe plugins here (the ``hydra_plugins`` namespace)."""
from mm_train.config.recipes import RecipeConfigSource, RecipeSearchPath

__all__ = ["RecipeConfigSource", "RecipeSearchPath"]
