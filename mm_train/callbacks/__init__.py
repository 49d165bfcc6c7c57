"""Callbacks listed in a recipe, and the evaluation that writes ``metrics.json``.

    callbacks:
      - {type: TimeMonitor}
      - {type: LossMonitor, per_print_times: 10}
      - {type: ModelCheckpoint, save_checkpoint_epochs: 1, keep_checkpoint_max: 3, keep_best_by: acc}
      - {type: TensorBoard}                       # RUN_DIR/tensorboard, tensorboardX event files
      - {type: ProgressBar}                       # quiet when stdout is not a terminal
      - {type: EarlyStopping, monitor: acc, patience: 3}

Each factory takes a :class:`~mm_train.callbacks.context.RunContext` first and is registered in
``mm_train.registry.CALLBACKS`` by the module it lives in (the registry imports them on first use).
The runner always adds ``divergence.StopOnNonFiniteLoss`` and ``evaluate.Evaluate`` before the
recipe's callbacks (so they see this epoch's evaluation in ``ctx.evaluations``, and never a NaN
loss) and ``plot.PlotCurves`` after them. This package file imports nothing: import a callback
from its module.
"""
