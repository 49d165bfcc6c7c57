"""Bring trained weights from PyTorch, TensorFlow/Keras and MindSpore into recipe networks.

    mm-train weights convert resnet18.safetensors r18.ckpt --rules torchvision_resnet --recipe resnet18_torchvision
    python run.py +recipe=resnet18_torchvision 'init_from={path: r18.pth, rules: torchvision_resnet}'
    mm-train parity +recipe=resnet18_torchvision init_from=r18.ckpt --input x.npy --expected y.npy

Modules: :mod:`.sources` reads weight files into ``{name: numpy array}`` (:mod:`.torch_pickle`
reads .pt/.pth without torch), :mod:`.rules` renames and re-lays them out, :mod:`.weights`
matches them to a network and reports, :mod:`.parity` compares outputs.
"""
