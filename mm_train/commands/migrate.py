"""``mm-train migrate onnx MODEL.onnx --name NAME --out DIR``: the recipe, the checkpoint and the assessment.

    mm-train migrate onnx resnet50.onnx --name resnet50_onnx --out my_recipes
    MM_TRAIN_RECIPE_PATH=my_recipes mm-train parity +recipe=resnet50_onnx --input x.npy --expected y.npy
    MM_TRAIN_RECIPE_PATH=my_recipes python run.py +recipe=resnet50_onnx

Writes ``DIR/NAME.yaml``, ``DIR/NAME.ckpt`` and ``DIR/NAME.assessment.md`` together or not at all: an
unsupported op prints the assessment and ends with exit 2 before anything is written.
"""
from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mm_train.commands.parsers import add_command, add_group
from mm_train.core.errors import ConfigError

BASE_FILE = Path(__file__).resolve().parents[1] / "migrate" / "onnx" / "base.yaml"
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]*$")
BASE_KEYS = ("dataset", "loss", "optimizer", "lr_schedule", "loss_scale", "train", "callbacks", "limits", "eval")


@dataclass
class Converted:
    recipe: dict
    weights: dict
    assessment: str
    markdown: str
    parity: Any = None


def base_sections(base: str | None, input_shape: list[int]) -> dict:
    """The non-network sections of the recipe: from ``--base`` or the bundled base (resized)."""
    import yaml
    if base is None:
        text = BASE_FILE.read_text()
        sections = yaml.safe_load(text)
        if len(input_shape) == 3:
            h, w = input_shape[1:]
            for split in ("train",):
                sections["dataset"][split]["transforms"].insert(0, {"type": "Resize", "size": [h, w]})
            if input_shape[0] != 3 and input_shape[-1] in (1, 3):
                raise ConfigError("--base", f"the network takes channels-last input {input_shape} that the "
                                  "converter could not turn channels-first (operations before its first "
                                  "NHWC -> NCHW Transpose, e.g. Keras preprocessing layers)",
                                  expected="--base RECIPE whose data is channels-last, or a model exported "
                                  "without the preprocessing layers")
            if input_shape[0] != 3:
                raise ConfigError("--base", f"the network takes {input_shape[0]} channels, the bundled images 3",
                                  expected="--base RECIPE with data of the network's channels")
        return sections
    from omegaconf import OmegaConf

    from mm_train.config.composition import compose_recipe
    config = compose_recipe(base, [])
    return {k: OmegaConf.to_container(config[k], resolve=False) for k in BASE_KEYS
            if k in config and config[k] is not None}


def recipe_text(name: str, source: Path, recipe: dict) -> str:
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def flow_lists(dumper, data):
        flow = all(not isinstance(v, (dict, list)) for v in data)
        return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)

    def flow_layers(dumper, data):
        flow = getattr(data, "flow", False)
        return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=flow)

    Dumper.add_representer(list, flow_lists)
    Dumper.add_representer(_Flow, flow_layers)
    network = dict(recipe["network"])
    network["layers"] = {k: _Flow(v) for k, v in network["layers"].items()}
    body = {**{k: v for k, v in recipe.items() if k != "network"}, "network": network}
    header = (f"# @package _global_\n# {name}: converted from {source.name} by mm-train migrate onnx "
              f"(see {name}.assessment.md).\n")
    return header + yaml.dump(body, Dumper=Dumper, sort_keys=False, width=120)


class _Flow(dict):
    flow = True


def build_and_load(network_spec: dict, weights: dict, max_params: int):
    """The network with the converted weights; every parameter must come from the source."""
    import mindspore as ms

    from mm_train.nn.builder import build_network
    network, _ = build_network(network_spec, "network", max_params=max_params)
    params = {p.name: p for p in network.get_parameters()}
    missing = [n for n in params if n not in weights]
    unused = [n for n in weights if n not in params]
    wrong = [f"{n}: {list(weights[n].shape)} for {list(params[n].shape)}" for n in params
             if n in weights and tuple(weights[n].shape) != tuple(params[n].shape)]
    if missing or unused or wrong:
        raise ConfigError("network", f"converter bug: parameters without weights {missing[:5]}, weights without "
                          f"parameters {unused[:5]}, shapes {wrong[:5]}", expected="report it with the model")
    for name, param in params.items():
        param.set_data(ms.Tensor(weights[name].astype(np.float32)))
    return network


def forward(network, x: np.ndarray) -> np.ndarray:
    import mindspore as ms
    network.set_train(False)
    return network(ms.Tensor(x.astype(np.float32))).asnumpy()


def onnxruntime_output(model_path: Path, x: np.ndarray) -> np.ndarray | None:
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def convert(model_path: str | Path, name: str, device: str = "cpu", base: str | None = None,
            check_parity: bool = True, verbose_print=print) -> tuple[Converted, Any]:
    """Check, translate, build and run the model; ``(Converted, network)``. Writes nothing."""
    from mm_train.migrate.onnx.assessment import assessment_text
    from mm_train.migrate.onnx.load import load_model
    from mm_train.migrate.onnx.walk import translate
    from mm_train.nn.budget import max_params

    model_path = Path(model_path)
    sections = base_sections(base, [1])   # the base first: a wrong --base fails before any work
    limit = max_params(sections)
    model = load_model(model_path, limit)
    translation = translate(model)
    title = f"{name} (from {model_path.name})"
    if any(r.unsupported for r in translation.ops.values()):
        table = assessment_text(translation, device, "-")
        verbose_print(table)
        bad = sorted(op for op, r in translation.ops.items() if r.unsupported)
        raise ConfigError(str(model_path), f"unsupported operators {bad}; nothing written",
                          expected="the operators in the table above marked UNSUPPORTED replaced (see 'nearest')")
    del model
    if translation.training_export and check_parity:
        check_parity = False
        verbose_print("parity: not checked (a training-mode export: onnxruntime uses batch statistics)")
    network_spec = translation.network
    sections = base_sections(base, network_spec["input_shape"])
    network = build_and_load(network_spec, translation.weights, limit)
    batch = translation.batch if translation.static_batch else 1   # an open batch axis: 1 sample is enough
    x = np.random.default_rng(0).standard_normal((batch, *network_spec["input_shape"])).astype(np.float32)
    try:
        out = forward(network, x)
        cpu = "yes (the converted network ran on CPU)"
    except Exception as err:   # MindSpore kernel errors: reported in the table, then exit 2
        cpu = f"FAILED: {' '.join(str(err).split())[:200]}"
        out = None
    text = assessment_text(translation, device, cpu)
    markdown = assessment_text(translation, device, cpu, markdown=True, title=title)
    verbose_print(text)
    if out is None:
        raise ConfigError(str(model_path), f"the converted network does not run on CPU: {cpu}")
    result = None
    if check_parity:
        source_x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)) if translation.nhwc else x
        expected = onnxruntime_output(model_path, source_x)
        if expected is None:
            verbose_print("parity: onnxruntime is not installed (pip install onnxruntime): not checked")
        else:
            from mm_train.migrate.parity import self_floor, verdict
            result = verdict(out, expected, floor=self_floor(network, x))   # the bound `mm-train parity` uses
            verbose_print(f"parity with onnxruntime on a seeded random batch of {batch}:\n" + result.text())
            markdown += "\n## Parity with onnxruntime\n\n```\n" + result.text() + "\n```\n"
    recipe = {**sections, "network": network_spec}
    return Converted(recipe, translation.weights, text, markdown, result), network


def write(converted: Converted, network, out: Path, name: str, source: Path) -> list[Path]:
    """``NAME.yaml``, ``NAME.ckpt``, ``NAME.assessment.md`` in ``out``: all or none."""
    from mm_train.runtime.checkpoints import save_atomic
    out.mkdir(parents=True, exist_ok=True)
    ckpt = (out / f"{name}.ckpt").resolve()
    recipe = {**converted.recipe, "init_from": str(ckpt)}
    files = {out / f"{name}.yaml": recipe_text(name, source, recipe), out / f"{name}.assessment.md": converted.markdown}
    written: list[Path] = []
    try:
        save_atomic(network, ckpt)
        written.append(ckpt)
        for path, text in files.items():
            tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
            tmp.write_text(text)
            os.replace(tmp, path)
            written.append(path)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        for path in files:
            path.with_name(f".tmp-{os.getpid()}-{path.name}").unlink(missing_ok=True)
        raise
    return written


def migrate_onnx_command(args) -> int:
    from mm_train.core.device import set_environment
    set_environment()
    if not NAME.match(args.name):
        raise ConfigError("--name", f"'{args.name}'", expected="a recipe name: a letter, then letters, digits, _ or -")
    out, source = Path(args.out), Path(args.model)
    started = time.perf_counter()
    converted, network = convert(source, args.name, args.device, args.base, not args.no_parity)
    written = write(converted, network, out, args.name, source)
    for path in written:
        print(f"wrote {path}")
    print(f"converted in {time.perf_counter() - started:.1f} s; next:\n"
          f"  MM_TRAIN_RECIPE_PATH={out} mm-train parity +recipe={args.name} --input x.npy --expected y.npy\n"
          f"  MM_TRAIN_RECIPE_PATH={out} python run.py +recipe={args.name}")
    if converted.parity is not None and not converted.parity.passed:
        return 1
    return 0


def add_to(sub) -> None:
    actions = add_group(sub, "migrate", "bring a network from another framework (ONNX)",
                        "mm-train migrate onnx resnet50.onnx --name resnet50_onnx --out my_recipes")
    onnx = add_command(actions, "onnx", "convert an ONNX classifier into a recipe (graph network), a checkpoint with "
                       "its weights and an operator assessment; exit 2 on an unsupported operator (nothing written), "
                       "1 when parity with onnxruntime fails",
                       "mm-train migrate onnx resnet50.onnx --name resnet50_onnx --out my_recipes", migrate_onnx_command)
    onnx.add_argument("model", help="the .onnx file (external data next to it)")
    onnx.add_argument("--name", required=True, help="the recipe name: writes OUT/NAME.yaml, .ckpt, .assessment.md")
    onnx.add_argument("--out", required=True, help="the folder to write into (use it in MM_TRAIN_RECIPE_PATH)")
    onnx.add_argument("--device", choices=("cpu", "gpu", "ascend"), default="cpu",
                      help="the device the assessment is for (default cpu: verified by running it)")
    onnx.add_argument("--base", help="a recipe whose dataset, loss, optimizer, schedule and train settings the "
                      "new recipe takes (default: the bundled digits, resized to the network's input)")
    onnx.add_argument("--no-parity", action="store_true", help="skip the onnxruntime parity check")
