"""Augmentations with the published options that MindSpore's own ops lack (filled in below)."""
