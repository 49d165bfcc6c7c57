"""``python -m mm_train.commands ARGS``: ``mm-train ARGS`` without the console script."""
import sys

from mm_train.commands import main

sys.exit(main())
