"""conf/ and recipes/ stay at the top of the source tree and install as mm_train/_conf and mm_train/_recipes."""
from setuptools import find_namespace_packages, setup

DATA = {"mm_train._conf": "conf", "mm_train._recipes": "recipes"}

setup(
    packages=find_namespace_packages(include=["mm_train", "mm_train.*", "hydra_plugins", "hydra_plugins.*"])
    + list(DATA),
    package_dir=DATA,
    package_data={"mm_train": ["bundled/*/*", "migrate/rules/*.yaml", "migrate/onnx/*.yaml"], **{name: ["**/*.yaml"] for name in DATA}},
)
