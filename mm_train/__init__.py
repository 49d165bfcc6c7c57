"""mm_train: declarative, config-driven training for MindSpore.

Importing this package does not import MindSpore: the device settings that must
be applied before MindSpore loads (see :mod:`mm_train.core.device`) come first.
"""

__version__ = "0.1.0"
