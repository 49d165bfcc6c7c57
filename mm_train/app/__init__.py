"""The Hydra application (run.py, python -m mm_train), its sweep callbacks and the msrun launcher."""
