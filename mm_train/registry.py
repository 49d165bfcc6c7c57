"""One registry type for every kind of component a recipe can name; the one way to build one.

Recipes name components by registry name (``type: Conv2d``), never by import
path. Each registry knows, like MMEngine's, where its members live (modules
imported on first use) and how its members are called: the arguments the
framework passes first (``takes``: a block gets its input shape), the keywords
it passes (``given``: a reader gets ``split``, ``shuffle``...), the spec keys the
kind's own builder reads (``reserved``) and an optional ``build_func``. So nothing
else encodes how a kind is built::

    BLOCKS.build({"type": "Conv2d", "out_channels": 8, "kernel_size": 3}, "network.layers.conv1", (3, 32, 32))
    LOSSES.get("SoftmaxCrossEntropy", "loss.type")
    ConfigError: loss.type: unknown loss 'SoftmaxCrossEntropy' ... Did you mean 'SoftmaxCrossEntropyWithLogits'?
"""
from __future__ import annotations

import importlib
import inspect
from typing import Any, Callable, Mapping, Sequence

from mm_train.core.argtypes import hints, type_problem
from mm_train.core.errors import ConfigError, closest


def _resolve(target: str) -> Callable[..., Any]:
    """``"package.module:function"`` -> the function (imported now)."""
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


class Registry:
    """Names -> factories for one kind of component (``kind`` is used in messages)."""

    def __init__(self, kind: str, locations: Sequence[str] = (), takes: Sequence[str] = (),
                 given: Sequence[str] = (), reserved: Sequence[str] = (), build_func: str | None = None,
                 check_func: str | None = None, plugins: str | None = None):
        self.kind = kind
        self.locations = tuple(locations)     # modules whose import registers the members
        self.takes = tuple(takes)             # passed first, positionally, by the framework
        self.given = tuple(given)             # passed as keywords by the framework
        self.reserved = tuple(reserved)       # spec keys the kind's builder reads itself
        self.build_func = build_func          # "module:function"(factory, args, kwargs, where), else factory(...)
        self.check_func = check_func          # "module:function"(spec, where) -> [ConfigError], else check_spec
        self.plugins = plugins                # "module:function" that loads installed plugins
        self._items: dict[str, Callable[..., Any]] = {}
        self._origins: dict[str, str] = {}
        self._meta: dict[str, dict[str, Any]] = {}
        self._imported = self._ready = self._loading = False

    # -- members ---------------------------------------------------------------------------

    def register(self, name: str | None = None, obj: Callable[..., Any] | None = None, **meta: Any):
        """Register ``obj`` under ``name``; usable as a decorator. A taken name is an error.

        ``meta`` is kept for the framework (e.g. ``every_rank=True`` on a callback).
        """
        def add(target: Callable[..., Any]) -> Callable[..., Any]:
            key = name or target.__name__
            origin = f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', key)}"
            if key in self._items and self._origins[key] != origin:
                raise ValueError(f"{self.kind} '{key}' is registered twice: "
                                 f"by {self._origins[key]} and by {origin}")
            self._items[key], self._origins[key], self._meta[key] = target, origin, dict(meta)
            return target
        return add(obj) if obj is not None else add

    def load(self) -> None:
        """Import the member modules (once) and load plugins (each call loads only new ones).

        A member module or plugin that asks this registry for its names while it loads sees
        the members registered so far.
        """
        if self._loading:
            return
        self._loading = True
        try:
            if not self._imported:
                for module in self.locations:
                    importlib.import_module(module)
                self._imported = True
            if self.plugins:
                _resolve(self.plugins)()
            self._ready = True
        finally:
            self._loading = False

    def _ensure(self) -> None:
        if not self._ready:
            self.load()

    def names(self) -> list[str]:
        self._ensure()
        return sorted(self._items)

    def __contains__(self, name: Any) -> bool:
        self._ensure()
        return isinstance(name, str) and name in self._items

    def origin(self, name: str) -> str:
        return self._origins[name]

    def meta(self, name: str) -> dict[str, Any]:
        self._ensure()
        return self._meta.get(name, {})

    def get(self, name: Any, where: str) -> Callable[..., Any]:
        """The factory registered as ``name``; ``where`` is the key path for messages."""
        self._ensure()
        if not isinstance(name, str) or name not in self._items:
            names = sorted(self._items)
            raise ConfigError(where, f"unknown {self.kind} '{name}'",
                              expected=f"one of {names}" if len(names) <= 12
                              else f"a registered {self.kind} name, see: mm-train blocks ls",
                              suggestions=closest(str(name), self._items))
        return self._items[name]

    # -- the calling convention ----------------------------------------------------------------

    def parameters(self, factory: Callable[..., Any]) -> list[inspect.Parameter]:
        """The factory's parameters a recipe sets (without ``takes`` and ``given``)."""
        try:
            params = list(inspect.signature(factory).parameters.values())[len(self.takes):]
        except (TypeError, ValueError):
            return []
        return [p for p in params if p.name not in self.given
                and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]

    def signature(self, name: str) -> str:
        """``"out_channels, kernel_size, stride=1"``: what ``mm-train blocks ls`` shows."""
        return ", ".join(p.name if p.default is p.empty else f"{p.name}={_shown(p.default)}"
                         for p in self.parameters(self.get(name, self.kind)))

    def _spec(self, spec: Any, where: str) -> tuple[Callable[..., Any], dict[str, Any]]:
        if not isinstance(spec, Mapping) or "type" not in spec:
            raise ConfigError(where, f"a {self.kind} needs a 'type'",
                              expected=f"a mapping like {{type: NAME, ...}}, NAME one of {self.names()[:8]}")
        factory = self.get(spec["type"], f"{where}.type")
        return factory, {k: v for k, v in spec.items() if k != "type" and k not in self.reserved}

    def check(self, spec: Any, where: str) -> list[ConfigError]:
        """Every problem of ``spec`` without building it: the kind's ``check_func`` (which calls
        :meth:`check_spec` and adds the checks of its part), else :meth:`check_spec`."""
        if self.check_func:
            return _resolve(self.check_func)(spec, where)
        return self.check_spec(spec, where)

    def check_spec(self, spec: Any, where: str, given: Sequence[str] = ()) -> list[ConfigError]:
        """The problems of ``spec`` as a call of its factory (name, unknown / missing / mistyped arguments)."""
        if not isinstance(spec, Mapping) or "type" not in spec:
            return [ConfigError(where, f"got {spec!r}",
                                expected=f"a mapping like {{type: NAME, ...}} naming a {self.kind}")]
        try:
            factory, kwargs = self._spec(spec, where)
            check_arguments(factory, kwargs, where, skip=len(self.takes),
                            given=dict.fromkeys((*self.given, *given)), also=self.reserved)
        except ConfigError as err:
            return list(err.problems)
        return []

    def build(self, spec: Mapping[str, Any], where: str, *args: Any, **given: Any) -> Any:
        """Check ``spec`` and call its factory with ``args`` (``takes``), ``given`` and the spec's keywords."""
        factory, kwargs = self._spec(spec, where)
        check_arguments(factory, kwargs, where, skip=len(args), given={**dict.fromkeys(self.given), **given})
        return self._call(factory, kwargs, where, args, given)

    def build_checked(self, spec: Mapping[str, Any], where: str, *args: Any, **given: Any) -> Any:
        """:meth:`build` for a ``spec`` whose problems :meth:`check_spec` has just found none of."""
        factory, kwargs = self._spec(spec, where)
        return self._call(factory, kwargs, where, args, given)

    def _call(self, factory, kwargs: dict[str, Any], where: str, args: tuple, given: dict[str, Any]) -> Any:
        if self.build_func:
            return _resolve(self.build_func)(factory, args, {**kwargs, **given}, where)
        return factory(*args, **kwargs, **given)


def _shown(default: Any) -> str:
    """A default as a recipe writes it: an enum by its value (``'constant'``, not ``<Border.CONSTANT: ...>``)."""
    import enum
    return repr(default.value) if isinstance(default, enum.Enum) else repr(default)


def inferred_hints(params: Sequence[inspect.Parameter]) -> dict[str, Any]:
    """Hints for unannotated parameters from their defaults: ``gamma=0.1`` takes a number (or null).

    Only for mm_train's own factories: MindSpore's classes take more than their defaults show
    (``fill_value=0`` also takes a tuple; enum defaults are ints).
    """
    import enum
    from typing import Optional
    out = {}
    for p in params:
        if isinstance(p.default, enum.Enum):
            continue
        if isinstance(p.default, bool):
            out[p.name] = Optional[bool]
        elif isinstance(p.default, (int, float)):
            out[p.name] = Optional[float]
    return out


def check_arguments(factory: Callable[..., Any], kwargs: Mapping[str, Any], where: str,
                    skip: int = 0, given: Mapping[str, Any] = (), also: Sequence[str] = ()) -> None:
    """Raise ConfigError naming unknown, missing or mistyped keyword arguments of ``factory``."""
    try:
        params = list(inspect.signature(factory).parameters.values())[skip:]
    except (TypeError, ValueError):
        return
    names = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    errors = []
    if not any(p.kind is p.VAR_KEYWORD for p in params):
        errors += [unknown_argument(where, key, sorted((set(names) - set(given)) | set(also)))
                   for key in kwargs if key not in names]
    required = [p.name for p in params if p.default is p.empty
                and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    errors += [ConfigError(f"{where}.{key}", "missing required argument")
               for key in required if key not in kwargs and key not in given]
    own = str(getattr(factory, "__module__", "")).startswith("mm_train")
    types = {**(inferred_hints(params) if own else {}), **hints(factory)}
    for key, value in kwargs.items():
        if key in types and key in names and (expected := type_problem(value, types[key])):
            errors.append(ConfigError(f"{where}.{key}", f"got {value!r}", expected=expected))
    if errors:
        raise ConfigError.collect(errors)


LEARNING_RATE_KEYS = ("lr", "learning_rate", "lr_max", "lr_init", "lr_end", "base_lr")


def unknown_argument(where: str, key: str, names: Sequence[str]) -> ConfigError:
    """An argument the component does not take; a learning rate given to the optimizer points to lr_schedule."""
    if where == "optimizer" and key in LEARNING_RATE_KEYS:
        return ConfigError(f"{where}.{key}", "the learning rate is not an optimizer argument",
                           expected="it in lr_schedule: lr_schedule.lr_max=0.05, or "
                           "'lr_schedule={type: constant, lr: 0.05}' for a fixed rate")
    return ConfigError(f"{where}.{key}", "unknown argument", expected=f"one of {list(names)}",
                       suggestions=closest(key, names))


# What every reader gets from the pipeline settings of a split (mm_train.data.build_dataset).
READER_COMMON = ("split", "shuffle", "num_shards", "shard_id", "num_samples", "num_parallel_workers")
# Keys of ``optimizer`` that build_optimizer reads (groups, decay, clipping), not the factory.
OPTIMIZER_KEYS = ("weight_decay", "no_decay", "param_groups", "clip_grad_norm", "layer_decay")

DATASETS = Registry("dataset", ("mm_train.data.cifar10", "mm_train.data.image_folder", "mm_train.data.mindrecord",
                                "mm_train.data.tfrecord"), given=(*READER_COMMON, "train_args", "classes", "keys"),
                    check_func="mm_train.data.validate:dataset_errors")
TRANSFORMS = Registry("transform", ("mm_train.data.transforms", "mm_train.data.batch_transforms",
                                    "mm_train.data.augment"), build_func="mm_train.data.transforms:instantiate",
                      check_func="mm_train.data.transforms:transform_errors")
BLOCKS = Registry("block", ("mm_train.nn.layers", "mm_train.nn.blocks", "mm_train.nn.activations", "mm_train.nn.norms",
                            "mm_train.nn.sequential", "mm_train.nn.stochastic_depth", "mm_train.nn.mobile",
                            "mm_train.nn.convnext", "mm_train.nn.transformer", "mm_train.nn.merge",
                            "mm_train.nn.elementwise", "mm_train.nn.tensor_shape", "mm_train.nn.source"),
                  takes=("in_shape",), reserved=("inputs",), check_func="mm_train.nn.validate:block_errors",
                  plugins="mm_train.nn.plugins:load_plugins")
LOSSES = Registry("loss", ("mm_train.learning.losses",))
OPTIMIZERS = Registry("optimizer", ("mm_train.learning.optimizers",), takes=("params", "learning_rate"), given=("loss_scale",),
                      reserved=OPTIMIZER_KEYS, check_func="mm_train.learning.optimizers:optimizer_errors")
LR_SCHEDULES = Registry("lr schedule", ("mm_train.learning.lr_schedules",), takes=("total_steps", "steps_per_epoch"),
                        reserved=("scale_by_batch", "by_epoch", "warmup_factor"),
                        check_func="mm_train.learning.lr_schedules:schedule_errors")
CALLBACKS = Registry("callback", ("mm_train.callbacks.monitors", "mm_train.callbacks.checkpoint",
                                  "mm_train.callbacks.early_stopping", "mm_train.callbacks.progress",
                                  "mm_train.callbacks.tensorboard"), takes=("ctx",))

# The blocks the ONNX converter adds (ConstantOp, Linear, Pool2d, ConvBNAct): importable without onnx.
BLOCKS.locations += ("mm_train.migrate.onnx.blocks",)

ALL = {r.kind: r for r in (DATASETS, TRANSFORMS, BLOCKS, LOSSES, OPTIMIZERS, LR_SCHEDULES, CALLBACKS)}

# What a run does (``task=NAME``): f(config, run_dir, recipe, record) -> the value a sweep optimises; ``record``
# is rank 0's mm_train.config.run_record.RunRecord (None on the other ranks). Each task declares what it needs:
# needs_weights (init_from is required), keeps_results (its run directory's results are not silently reused,
# its status is in metrics.json), report (without hydra.run.dir it writes nowhere). The task modules register
# themselves when mm_train.jobs imports them; jobs.execute dispatches through it and validation reads it.
TASKS = Registry("task", takes=("config", "run_dir", "recipe", "record"))


def load_all() -> None:
    """Import every registered component (this imports MindSpore: set the environment first)."""
    for registry in ALL.values():
        registry.load()
