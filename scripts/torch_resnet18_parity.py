"""A manual cross-framework check (needs torch; not run in CI): torchvision ResNet-18, written out in plain
torch with random weights and BatchNorm statistics, against the resnet18_torchvision recipe.

    python3 -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch==2.13.0 "numpy<2"
    /tmp/torchvenv/bin/python scripts/torch_resnet18_parity.py        # writes /tmp/r18/{resnet18.pth,x.npy,y.npy}
    mm-train parity +recipe=resnet18_torchvision 'init_from={path: /tmp/r18/resnet18.pth, rules: torchvision_resnet}' \\
        --input /tmp/r18/x.npy --expected /tmp/r18/y.npy

Measured on 2026-11-26 (CPU, torch 2.13.0, MindSpore 2.10, batch 4 x 3 x 224 x 224): max absolute difference
2.384e-07, PASSED.
"""
import torch, numpy as np
import os
OUT = "/tmp/r18"
os.makedirs(OUT, exist_ok=True)
from torch import nn
class Basic(nn.Module):
    def __init__(s, cin, cout, stride):
        super().__init__()
        s.conv1=nn.Conv2d(cin,cout,3,stride,1,bias=False); s.bn1=nn.BatchNorm2d(cout); s.relu=nn.ReLU()
        s.conv2=nn.Conv2d(cout,cout,3,1,1,bias=False); s.bn2=nn.BatchNorm2d(cout)
        s.downsample = nn.Sequential(nn.Conv2d(cin,cout,1,stride,bias=False), nn.BatchNorm2d(cout)) if stride!=1 or cin!=cout else None
    def forward(s,x):
        i = x if s.downsample is None else s.downsample(x)
        return s.relu(s.bn2(s.conv2(s.relu(s.bn1(s.conv1(x)))))+i)
class R18(nn.Module):
    def __init__(s):
        super().__init__()
        s.conv1=nn.Conv2d(3,64,7,2,3,bias=False); s.bn1=nn.BatchNorm2d(64); s.relu=nn.ReLU(); s.maxpool=nn.MaxPool2d(3,2,1)
        cin=64
        for i,c in enumerate((64,128,256,512),1):
            setattr(s,f"layer{i}",nn.Sequential(Basic(cin,c,1 if i==1 else 2),Basic(c,c,1))); cin=c
        s.avgpool=nn.AdaptiveAvgPool2d(1); s.fc=nn.Linear(512,1000)
    def forward(s,x):
        x=s.maxpool(s.relu(s.bn1(s.conv1(x))))
        for i in range(1,5): x=getattr(s,f"layer{i}")(x)
        return s.fc(torch.flatten(s.avgpool(x),1))
torch.manual_seed(0); m=R18()
for mod in m.modules():
    if isinstance(mod, nn.BatchNorm2d):
        mod.running_mean.normal_(0,0.1); mod.running_var.uniform_(0.5,1.5); mod.weight.data.uniform_(0.5,1.5); mod.bias.data.normal_(0,0.1)
m.eval(); x=torch.randn(4,3,224,224)
with torch.no_grad(): y=m(x)
torch.save(m.state_dict(),OUT + "/resnet18.pth"); np.save(OUT + "/x.npy",x.numpy()); np.save(OUT + "/y.npy",y.numpy())
print(len(m.state_dict()), sum(p.numel() for p in m.parameters()), y.abs().max())
