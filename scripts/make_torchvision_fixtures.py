"""Write the torchvision fixtures of tests/test_families.py (run once, output committed; torch is not a dependency).

    python3 -m venv /work/torchenv && /work/torchenv/bin/pip install torch==2.14.1 torchvision==0.29.1 'numpy<2' safetensors
    /work/torchenv/bin/python scripts/make_torchvision_fixtures.py

tests/fixtures/torchvision/names.json.gz: for each full-size model (resnet50, mobilenet_v2,
mobilenet_v3_large, efficientnet_b0, convnext_tiny, vit_b_16) its trainable parameter count and
its state_dict as {name: shape}.

tests/fixtures/torchvision/FAMILY/: a small model built with torchvision's own constructors
(two or three blocks, 32x32 input, 10 classes) with seeded random weights and BatchNorm
statistics: weights.pth or weights.safetensors (its state_dict), x.npy (an input batch) and
y.npy (torchvision's output for it in eval mode).

tests/fixtures/torchvision/resnet50/: x.npy (2x3x64x64) and y.npy, torchvision resnet50's output with the
weights tests/torchvision_arrays.random_state(names, seed=100) makes (numpy only, so the test rebuilds
them without a 100 MB file).
"""
import gzip
import json
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from torchvision import models
from torchvision.models.convnext import CNBlockConfig, ConvNeXt
from torchvision.models.efficientnet import EfficientNet, MBConvConfig
from torchvision.models.mobilenetv2 import MobileNetV2
from torchvision.models.mobilenetv3 import InvertedResidualConfig, MobileNetV3
from torchvision.models.vision_transformer import VisionTransformer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from torchvision_arrays import random_state  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "torchvision"
FULL = ("resnet50", "mobilenet_v2", "mobilenet_v3_large", "efficientnet_b0", "convnext_tiny", "vit_b_16")


def small_models():
    """name -> (model, weight file suffix)."""
    v3 = [InvertedResidualConfig(16, 3, 16, 16, True, "RE", 2, 1, 1.0),
          InvertedResidualConfig(16, 3, 64, 24, False, "RE", 2, 1, 1.0),
          InvertedResidualConfig(24, 5, 72, 24, True, "HS", 1, 1, 1.0)]
    return {
        "mobilenet_v2": (MobileNetV2(num_classes=10, width_mult=0.5,
                                     inverted_residual_setting=[[1, 16, 1, 1], [6, 24, 2, 2]]), ".pth"),
        "mobilenet_v3": (MobileNetV3(v3, last_channel=64, num_classes=10), ".safetensors"),
        "efficientnet": (EfficientNet([MBConvConfig(1, 3, 1, 16, 16, 1), MBConvConfig(6, 5, 2, 16, 24, 2)],
                                      dropout=0.2, stochastic_depth_prob=0.2, num_classes=10), ".safetensors"),
        "convnext": (ConvNeXt([CNBlockConfig(16, 32, 1), CNBlockConfig(32, None, 2)], num_classes=10), ".pth"),
        "vit": (VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32,
                                  mlp_dim=64, num_classes=10), ".safetensors"),
    }


def randomize(model, seed):
    """Seeded values for every tensor of the state_dict (tests/torchvision_arrays.py)."""
    state = model.state_dict()
    for name, value in random_state({k: tuple(v.shape) for k, v in state.items()}, seed).items():
        state[name].copy_(torch.from_numpy(value))


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    names = {}
    for arch in FULL:
        model = getattr(models, arch)()
        names[arch] = {"params": sum(p.numel() for p in model.parameters() if p.requires_grad),
                       "state_dict": {k: list(v.shape) for k, v in model.state_dict().items()}}
    with gzip.open(OUT / "names.json.gz", "wt", encoding="utf-8") as f:
        json.dump(names, f, sort_keys=True)
    for i, (family, (model, suffix)) in enumerate(small_models().items()):
        rng = np.random.default_rng(i)
        with torch.no_grad():
            randomize(model, seed=i)
        model.eval()
        x = rng.normal(0, 1, (2, 3, 32, 32)).astype(np.float32)
        with torch.no_grad():
            y = model(torch.from_numpy(x)).numpy()
        folder = OUT / family
        folder.mkdir(exist_ok=True)
        state = {k: v.contiguous() for k, v in model.state_dict().items()}
        if suffix == ".pth":
            torch.save(state, folder / "weights.pth")
        else:
            save_file(state, str(folder / "weights.safetensors"))
        np.save(folder / "x.npy", x)
        np.save(folder / "y.npy", y)
        print(family, sum(v.numel() for v in state.values()), "values; output", y.shape, float(np.abs(y).max()))
    model = models.resnet50()
    with torch.no_grad():
        randomize(model, seed=100)
    model.eval()
    x = np.random.default_rng(100).normal(0, 1, (2, 3, 64, 64)).astype(np.float32)
    with torch.no_grad():
        y = model(torch.from_numpy(x)).numpy()
    (OUT / "resnet50").mkdir(exist_ok=True)
    np.save(OUT / "resnet50" / "x.npy", x)
    np.save(OUT / "resnet50" / "y.npy", y)
    print("resnet50 output", y.shape, float(np.abs(y).max()))


if __name__ == "__main__":
    main()
