"""Write the small real PyTorch fixture of tests/test_migrate_torch.py (run once, output committed).

    python3 -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch==2.13.0 "numpy<2"
    /tmp/torchvenv/bin/python scripts/make_torch_fixture.py

tests/fixtures/torch_small/: small.pth (torch.save of a state_dict), dtypes.pth (a tensor of
each storage type inside {"state_dict": ..., "epoch": 12}), x.npy (an input batch, NCHW) and
y.npy (the torch model's output for it in eval mode). Every value comes from
numpy.random.default_rng(0) in the order of ``arrays()`` below, so the test rebuilds them
without torch. fc.weight is saved as a transposed (non-contiguous) view and bn1.running_var
as a slice at an offset of a larger storage, to exercise strides and storage offsets.
"""
from pathlib import Path

import numpy as np
import torch
from torch import nn

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "torch_small"


def arrays():
    """The fixture's values (also in the test)."""
    rng = np.random.default_rng(0)
    return {
        "conv1.weight": rng.normal(0, 0.3, (4, 3, 3, 3)).astype(np.float32),
        "bn1.weight": rng.uniform(0.5, 1.5, 4).astype(np.float32),
        "bn1.bias": rng.normal(0, 0.1, 4).astype(np.float32),
        "bn1.running_mean": rng.normal(0, 0.1, 4).astype(np.float32),
        "bn1.running_var_storage": rng.uniform(0.5, 1.5, 8).astype(np.float32),   # running_var = [2:6]
        "fc.weight_t": rng.normal(0, 0.5, (4, 5)).astype(np.float32),              # fc.weight = its transpose
        "fc.bias": rng.normal(0, 0.1, 5).astype(np.float32),
        "x": rng.normal(0, 1, (2, 3, 8, 8)).astype(np.float32),
    }


def dtype_tensors():
    """dtypes.pth: one tensor per storage type, in a checkpoint-style dict (values in the test)."""
    values = np.array([[1.0, -2.5, 0.25], [3.0, 0.0, -0.125]])
    return {"state_dict": {"bf16": torch.tensor(values, dtype=torch.bfloat16),
                           "half": torch.tensor(values, dtype=torch.float16),
                           "double": torch.tensor(values, dtype=torch.float64),
                           "long": torch.tensor([[1, -2], [3, 2**40]], dtype=torch.int64),
                           "int8": torch.tensor([-3, 4], dtype=torch.int8),
                           "uint8": torch.tensor([250, 4], dtype=torch.uint8),
                           "bool": torch.tensor([True, False]),
                           "scalar": torch.tensor(7.5),
                           "column": torch.tensor(values, dtype=torch.float32)[:, 1]},   # stride 3, offset 1
            "epoch": 12}


class Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(4)
        self.relu = nn.ReLU()
        self.fc = nn.Linear(4, 5)

    def forward(self, x):
        return self.fc(self.relu(self.bn1(self.conv1(x))).mean(dim=(2, 3)))


def main():
    a = arrays()
    model = Small()
    with torch.no_grad():
        model.conv1.weight.copy_(torch.from_numpy(a["conv1.weight"]))
        model.bn1.weight.copy_(torch.from_numpy(a["bn1.weight"]))
        model.bn1.bias.copy_(torch.from_numpy(a["bn1.bias"]))
        model.bn1.running_mean.copy_(torch.from_numpy(a["bn1.running_mean"]))
        model.bn1.running_var = torch.from_numpy(a["bn1.running_var_storage"])[2:6]
        model.bn1.num_batches_tracked.fill_(7)
        model.fc.weight = nn.Parameter(torch.from_numpy(a["fc.weight_t"]).t())
        model.fc.bias.copy_(torch.from_numpy(a["fc.bias"]))
    model.eval()
    state = model.state_dict()
    assert not state["fc.weight"].is_contiguous() and state["bn1.running_var"].storage_offset() == 2
    OUT.mkdir(parents=True, exist_ok=True)
    torch.save(state, OUT / "small.pth")
    x = torch.from_numpy(a["x"])
    with torch.no_grad():
        y = model(x).numpy()
    torch.save(dtype_tensors(), OUT / "dtypes.pth")
    np.save(OUT / "x.npy", a["x"])
    np.save(OUT / "y.npy", y)
    print(f"wrote {OUT}: small.pth ({(OUT / 'small.pth').stat().st_size} bytes), x.npy, y.npy {y.shape}")


if __name__ == "__main__":
    main()
