"""The ``train`` and ``eval`` tasks: build the parts, resume or ``init_from``, callbacks, ``Model.train``.

    evaluations, losses = fit(config, parts, run_dir, recipe)   # train (resume=auto|PATH continues a run)
    metrics = evaluate_only(config, parts, run_dir)             # task=eval init_from=CKPT -> metrics.json

Both are registered in :data:`mm_train.registry.TASKS`, the table :func:`mm_train.jobs.execute`
dispatches through. Around either, :func:`run_settings` applies what is set after the parts are built and
before anything compiles, and returns it for ``run_info.json``:

- the graph compile cache (:mod:`mm_train.runtime.compile_cache`, ``device.compile_cache``);
- the data pipeline's worker counts as resolved (``num_parallel_workers: auto``, :mod:`mm_train.data.workers`);
- how each split's pipeline was built (``data_pipeline``: the Decode fusion of :mod:`mm_train.data.decode_fusion`).
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Mapping

from mm_train.runtime import compile_cache
from mm_train.assembly import distributed
from mm_train.assembly import init_from
from mm_train.core import ranks
from mm_train.assembly.parts import build_parts
from mm_train.runtime.checkpoints import find_resume, resume_from
from mm_train.data.failures import reported_data_errors
from mm_train.runtime.debug import fast_verdict, overfit_verdict
from mm_train.core.errors import ConfigError, NetworkCannotLearn, closest
from mm_train.registry import CALLBACKS, TASKS


REPLAYS = ("exact", "fast")


def data_workers(dataset: Mapping[str, Any]) -> dict[str, Any]:
    """Each split's ``num_parallel_workers`` as resolved (``auto``: the cores); build_parts has checked them."""
    from mm_train.data import SplitSettings
    from mm_train.data.workers import resolve_workers
    out = {}
    for split in ("train", "eval"):
        try:
            out[split] = resolve_workers(SplitSettings.of(dataset, split).num_parallel_workers)
        except Exception:  # noqa: BLE001 - a record only
            out[split] = None
    return out


def run_settings(config: Mapping[str, Any], parts, recipe: str) -> dict[str, Any]:
    """Enable the compile cache and say how the data pipelines run: the keys ``run_info.json`` adds
    (its writer is the run's :class:`mm_train.config.run_record.RunRecord`). Call inside ``compile_cache.scoped()``."""
    eval_batches = parts.eval_data.get_dataset_size() if parts.eval_data is not None else None
    return {"compile_cache": compile_cache.enable(config, parts.steps_per_epoch, eval_batches, recipe,
                                                  ranks.current().rank),
            "data_workers": data_workers(config.get("dataset") or {}),
            "data_pipeline": {name: getattr(data, "pipeline_record", None)
                              for name, data in (("train", parts.train_data), ("eval", parts.eval_data))}}


@contextmanager
def recorded_settings(config: Mapping[str, Any], parts, recipe: str, record):
    """:func:`run_settings` for the ``with`` block (MindSpore's compile-cache variables restored after),
    added to ``run_info.json`` by ``record`` (rank 0's; None elsewhere)."""
    with compile_cache.scoped():
        settings = run_settings(config, parts, recipe)
        if record is not None:
            record.add(settings)
        yield settings


def replay_data(train_data, global_step: int, mode: str) -> None:
    """Start the train pipeline at ``global_step`` with the shuffle order an uninterrupted run had there.

    ``exact`` runs the pipeline through the skipped steps, so random augmentations also repeat
    (MindSpore's ``set_fast_recovery(False)``); ``fast`` skips the transforms: the same samples in
    the same order, but other random crops and flips than an uninterrupted run.
    """
    import mindspore.dataset as ds
    if mode not in REPLAYS:
        raise ConfigError("resume_replay", f"got {mode!r}", expected=f"one of {list(REPLAYS)}",
                          suggestions=closest(str(mode), REPLAYS))
    ds.config.set_fast_recovery(mode == "fast")
    train_data.set_init_step(global_step)


@contextmanager
def first_step_compiled(config: Mapping[str, Any], ctx, recipe: str):
    """MindSpore's failure to compile or run the first training step (an operator this device lacks, a
    dtype mix) as one ConfigError with MindSpore's own message and the command that names the layer.
    A failure after the first step keeps its traceback: that is a bug, not the recipe."""
    try:
        yield
    except (RuntimeError, TypeError, ValueError) as err:
        if ctx.step_losses:
            raise
        from mm_train.tasks.inspection import mindspore_message
        device = config["device"]
        raise ConfigError("network", f"MindSpore could not compile or run the training step on {device['target']} "
                          f"({device.get('mode', 'graph')} mode): {mindspore_message(err, limit=400)}",
                          expected=f"layers this device supports: python run.py +recipe={recipe} task=check runs "
                                   "each layer alone and names the one that fails") from None


def _evaluate_callback(config, parts, run_dir, history, resume_epoch=0, step_offset=0):
    from mm_train.callbacks.evaluate import Evaluate
    from mm_train.learning.ema import evaluating, metrics_note   # evaluate the EMA weights
    sink = bool(config["device"].get("dataset_sink_mode", False))
    evaluate = Evaluate(evaluating(parts.model, parts.train_network), parts.eval_data, run_dir,
                        int(config["train"]["eval_interval"]),
                        int(config["train"]["epochs"]), sink, history=history, resume_epoch=resume_epoch,
                        step_offset=step_offset)
    evaluate.notes = metrics_note(parts.train_network)   # metrics.json says "weights": "ema"
    evaluate.start_epoch = int(config["train"].get("eval_start_epoch", 1) or 1)
    return evaluate


def _schedule_callbacks(config, parts, initial_step: int) -> list:
    """``onecycle``'s momentum cycle, when the schedule has one."""
    from mm_train.learning.lr_schedules import build_momentum_schedule
    total = int(config["train"]["epochs"]) * parts.steps_per_epoch
    momentum = build_momentum_schedule(config["lr_schedule"], total, parts.steps_per_epoch)
    if momentum is None:
        return []
    from mm_train.callbacks.momentum import CycleMomentum
    return [CycleMomentum(parts.train_network, momentum, initial_step)]


def evaluate_only(config: Mapping[str, Any], parts, run_dir: Path) -> dict[str, Any]:
    """Load ``init_from`` (validation requires it for task=eval), evaluate once, write metrics.json; the metrics."""
    init_from.load(parts.network, config.get("init_from"), rules=init_from.weight_rules(config))
    evaluate = _evaluate_callback(config, parts, run_dir, [])
    with reported_data_errors():   # a corrupt file: one message naming it
        result = parts.model.eval(parts.eval_data, dataset_sink_mode=evaluate.sink)
    return evaluate.record(result, epoch=0)


def ema_note(decay, total_steps: int) -> str | None:
    """A warning when ``train.ema_decay`` is too slow for the run: the starting weights still weigh over 5% in
    the average at the end (0.999 over the quickstart's 440 steps: 64%)."""
    if decay is None or total_steps < 1:
        return None
    left = float(decay) ** total_steps
    if left <= 0.05:
        return None
    suggested = 1 - 3 / total_steps
    return (f"warning: train.ema_decay={decay:g} averages over about {1 / (1 - float(decay)):.0f} steps but this run "
            f"has {total_steps}: the starting weights still weigh {left:.0%} in the average, so the evaluated (EMA) "
            f"weights lag the trained ones. Use train.ema_decay={suggested:.3g} or less, or train longer")


def fit(config: Mapping[str, Any], parts, run_dir: Path, recipe: str) -> tuple[list, list]:
    """Train ``parts.model``; returns (the evaluations, the training loss of every step of this run).

    Only rank 0 (:func:`mm_train.core.ranks.current`) writes into ``run_dir``; the other ranks run only
    the callbacks every rank needs, and all check that they stay in step.
    """
    from mm_train.callbacks.context import RunContext
    from mm_train.callbacks.divergence import StopOnNonFiniteLoss
    from mm_train.callbacks.phases import Phases
    from mm_train.callbacks.plot import PlotCurves
    run_dir = Path(run_dir)
    epochs = int(config["train"]["epochs"])
    rank = ranks.current()
    ctx = RunContext(run_dir, parts.steps_per_epoch, epochs, recipe.replace("/", "_"),
                     batch_size=parts.global_batch_size, lr=parts.lr, rank=rank.rank)
    note = ema_note(config["train"].get("ema_decay"), epochs * parts.steps_per_epoch)
    if note and rank.is_main:
        print(note, flush=True)
    initial_epoch = 0
    checkpoint = find_resume(config.get("resume"), run_dir)
    if checkpoint is not None:
        resumed = resume_from(checkpoint, parts.train_network, parts.steps_per_epoch)
        ctx.initial_step, initial_epoch = resumed.global_step, resumed.epoch
        replay_data(parts.train_data, resumed.global_step, config.get("resume_replay", "exact"))
        print(f"resume: {checkpoint} (epoch {resumed.epoch}, step {resumed.global_step})", flush=True)
    else:
        init_from.load(parts.network, config.get("init_from"), rules=init_from.weight_rules(config))
    evaluate = _evaluate_callback(config, parts, run_dir if rank.is_main else None, ctx.evaluations,
                                  initial_epoch, ctx.initial_step)
    callbacks = [CALLBACKS.build(spec, f"callbacks[{i}]", ctx)
                 for i, spec in enumerate(distributed.callbacks_for(config.get("callbacks") or [], rank))]
    if ctx.initial_step >= epochs * parts.steps_per_epoch:
        print(f"resume: the checkpoint is at the end of training ({epochs} epochs); nothing to train", flush=True)
        return ctx.evaluations, []
    callbacks += _schedule_callbacks(config, parts, ctx.initial_step)
    sink = bool(config["device"].get("dataset_sink_mode", False))
    session = distributed.Session(rank, run_dir)
    session.start(parts.network, config["dataset"].get("train"), parts.steps_per_epoch)
    with reported_data_errors(), first_step_compiled(config, ctx, recipe):
        parts.model.train(epochs, parts.train_data,
                          callbacks=[Phases(ctx), StopOnNonFiniteLoss(ctx), evaluate, *callbacks, PlotCurves(ctx)],
                          dataset_sink_mode=sink, initial_epoch=initial_epoch)
    session.finish(parts.network)
    return ctx.evaluations, [loss for _, loss in ctx.step_losses]


@TASKS.register("train", keeps_results=True)
def train_task(config: Mapping[str, Any], run_dir: Path, recipe: str, record=None) -> float | None:
    """Train; the final value of ``train.metric``. ``debug=overfit`` also judges the loss curve."""
    parts = build_parts(config, "train")
    with recorded_settings(config, parts, recipe, record):   # compile cache, data workers -> run_info.json
        evaluations, losses = fit(config, parts, run_dir, recipe)
    mode = (config.get("debug") or {}).get("mode")
    if mode == "fast":
        print(fast_verdict(len(losses), evaluations), flush=True)
    if mode == "overfit":
        from mm_train.runtime.debug import loss_floor
        accuracy = evaluations[-1].get("acc") if evaluations else None   # evaluated on that very batch
        learnt, verdict = overfit_verdict(losses, float(config["debug"]["overfit_loss"]),
                                          loss_floor(config.get("loss"), config["dataset"].get("num_classes")),
                                          accuracy)
        if not learnt:
            raise NetworkCannotLearn(verdict)
        print(verdict, flush=True)
    return evaluations[-1][config["train"]["metric"]] if evaluations else None


@TASKS.register("eval", needs_weights=True, keeps_results=True)
def eval_task(config: Mapping[str, Any], run_dir: Path, recipe: str, record=None) -> float:
    """Evaluate ``init_from``'s weights once; the value of ``train.metric``."""
    from mm_train.tasks.inference_memory import guard

    parts = build_parts(config, "eval")
    guard(parts.network, "task=eval")
    with recorded_settings(config, parts, recipe, record):
        return evaluate_only(config, parts, run_dir)[config["train"]["metric"]]
