"""A Keras model through tf2onnx with preprocessing layers (Rescaling, Normalization) on its channels-last input,
before tf2onnx's NHWC -> NCHW transpose: the converted recipe takes NCHW and applies them per channel."""
from __future__ import annotations

import numpy as np

import onnx_exporter_graphs as eg
import onnx_graphs as g
import training_helpers  # noqa: F401  (claims the CPU device before any kernel runs)
from mm_train.commands import main


def test_preprocessing_on_the_channels_last_input_becomes_per_channel_layers_at_parity(tmp_path, capsys):
    path = g.save(eg.nhwc_preprocessing(), tmp_path / "src")
    assert main(["migrate", "onnx", str(path), "--name", "keras", "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert "PASSED" in printed, printed
    assert "3 per-channel operations on the channels-last input" in printed
    import yaml
    recipe = yaml.safe_load((tmp_path / "out" / "keras.yaml").read_text())
    network = recipe["network"]
    assert network["input_shape"] == [3, 6, 6]
    first = list(network["layers"].values())[:3]
    assert [(v["type"], v["op"]) for v in first] == [("ConstantOp", "Mul"), ("ConstantOp", "Sub"),
                                                      ("ConstantOp", "Div")]
    assert np.asarray(first[1]["value"]).shape == (3, 1, 1)       # per channel of NCHW
