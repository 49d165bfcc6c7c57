"""Export one torchvision / timm / Keras classifier to ONNX for bench/onnx_zoo.py (runs in the bench venv that
has torch or TensorFlow; never imported by mm_train).

    /work/benchvenv/bin/python bench/onnx_zoo_export.py torchvision:resnet50 legacy OUT_DIR
    /work/tfvenv/bin/python bench/onnx_zoo_export.py keras:ResNet50 tf2onnx OUT_DIR

Writes OUT_DIR/model.onnx, x.npy (a seeded batch of 2), y.npy (the source's float32 output), y64.npy (its
float64 output: the floor of float32 rounding) and info.json (params, export seconds). Weights are seeded,
with non-trivial BatchNorm statistics (running mean ~ N(0, 0.1), var ~ U(0.5, 1.5), affine ~ U(0.5, 1.5)).
"""
from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore")
SIZES = {"inception_v3": 299}


def torch_model(source: str, name: str):
    import torch
    torch.manual_seed(0)
    if source == "torchvision":
        import torchvision
        model = torchvision.models.get_model(name, weights=None)
    else:
        import timm
        model = timm.create_model(name, pretrained=False)
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm) and module.running_mean is not None:
                module.running_mean.copy_(torch.randn(module.num_features, generator=generator) * 0.1)
                module.running_var.copy_(torch.rand(module.num_features, generator=generator) + 0.5)
                if module.affine:
                    module.weight.copy_(torch.rand(module.num_features, generator=generator) + 0.5)
                    module.bias.copy_(torch.randn(module.num_features, generator=generator) * 0.1)
        for param in model.parameters():   # zero-initialised weights (ViT's head and class token): seeded too,
            if param.dim() >= 2 and not param.any():   # or the logits are 0 and parity proves nothing
                param.copy_(torch.randn(param.shape, generator=generator) * 0.02)
    return model.eval()


def export_torch(source: str, name: str, exporter: str, out: Path) -> dict:
    import torch
    model = torch_model(source, name)
    size = SIZES.get(name, 224)
    if source == "timm":
        size = model.default_cfg.get("input_size", (3, 224, 224))[-1]
    x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        y = model(x)
        y = y[0] if isinstance(y, tuple) else y
        y64 = model.double()(x.double())
        y64 = y64[0] if isinstance(y64, tuple) else y64
    model.float()
    started = time.perf_counter()
    if exporter == "legacy":
        torch.onnx.export(model, (x,), str(out / "model.onnx"), dynamo=False, do_constant_folding=False,
                          opset_version=17, input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "N"}, "y": {0: "N"}})
    else:
        torch.onnx.export(model, (x,), str(out / "model.onnx"), dynamo=True, input_names=["x"], output_names=["y"])
    seconds = time.perf_counter() - started
    np.save(out / "x.npy", x.numpy())
    np.save(out / "y.npy", y.float().numpy())
    np.save(out / "y64.npy", y64.numpy())
    return {"params": sum(p.numel() for p in model.parameters()), "export_seconds": seconds, "nhwc": False}


def export_keras(name: str, out: Path) -> dict:
    import keras
    import tensorflow as tf
    import tf2onnx
    keras.utils.set_random_seed(0)
    model = getattr(keras.applications, name)(weights=None)
    rng = np.random.default_rng(1)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape), rng.normal(0, 0.1, beta.shape),
                               rng.normal(0, 0.1, mean.shape), rng.uniform(0.5, 1.5, var.shape)])
    size = model.input_shape[1]
    x = np.random.default_rng(2).standard_normal((2, size, size, 3)).astype(np.float32)
    y = model(x, training=False).numpy()
    started = time.perf_counter()
    spec = (tf.TensorSpec((None, size, size, 3), tf.float32, name="x"),)
    tf2onnx.convert.from_keras(model, input_signature=spec, opset=17, output_path=str(out / "model.onnx"))
    seconds = time.perf_counter() - started
    np.save(out / "x.npy", x)
    np.save(out / "y.npy", y)
    np.save(out / "y64.npy", y)       # Keras has no float64 run here: the floor column says n/a
    return {"params": int(model.count_params()), "export_seconds": seconds, "nhwc": True, "no_float64": True}


def main(argv: list[str]) -> int:
    model, exporter, out = argv[0], argv[1], Path(argv[2])
    out.mkdir(parents=True, exist_ok=True)
    source, _, name = model.partition(":")
    info = export_keras(name, out) if source == "keras" else export_torch(source, name, exporter, out)
    (out / "info.json").write_text(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
