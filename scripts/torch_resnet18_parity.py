"""A manual cross-framework check (needs torch; not run in CI): torchvision ResNet-18, written out in plain
torch with random weights and BatchNorm statistics, against the resnet18_torchvision recipe.

    python3 -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch==2.13.0 "numpy<2"
    /tmp/torchvenv/bin/python scripts/torch_resnet18_parity.py        # writes /tmp/r18/{resnet18.pth,x.npy,y.npy}
    mm-train parity +recipe=resnet18_torchvision 'init_from={path: /tmp/r18/resnet18.pth, rules: torchvision_resnet}' \\
        --input /tmp/r18/x.npy --expected /tmp/r18/y.npy

Measured on 2026-11-26 (CPU, torch 2.13.0, MindSpore 2.10, batch 4 x 3 x 224 x 224): max absolute difference
2.384e-07, PASSED.
"""
import os

import numpy as np
import torch
from torch import nn

OUT = "/tmp/r18"


class Basic(nn.Module):
    """torchvision's BasicBlock, with its module names."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class ResNet18(nn.Module):
    """torchvision.models.resnet18's structure and names."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = 64
        for i, cout in enumerate((64, 128, 256, 512), start=1):
            setattr(self, f"layer{i}", nn.Sequential(Basic(cin, cout, 1 if i == 1 else 2), Basic(cout, cout, 1)))
            cin = cout
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, 1000)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for i in range(1, 5):
            x = getattr(self, f"layer{i}")(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


def main():
    torch.manual_seed(0)
    model = ResNet18()
    for module in model.modules():          # BatchNorm statistics away from 0/1, so they matter
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.normal_(0, 0.1)
            module.running_var.uniform_(0.5, 1.5)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.normal_(0, 0.1)
    model.eval()
    x = torch.randn(4, 3, 224, 224)
    with torch.no_grad():
        y = model(x)
    os.makedirs(OUT, exist_ok=True)
    torch.save(model.state_dict(), f"{OUT}/resnet18.pth")
    np.save(f"{OUT}/x.npy", x.numpy())
    np.save(f"{OUT}/y.npy", y.numpy())
    print(f"wrote {OUT}: {len(model.state_dict())} tensors, {sum(p.numel() for p in model.parameters())} parameters")


if __name__ == "__main__":
    main()
