"""Train, evaluate or inspect a recipe.

    python run.py +recipe=quickstart
    python run.py +recipe=resnet50_cifar device=ascend optimizer.lr=0.05
    python run.py -m +recipe=quickstart lr_schedule.lr_max=0.1,0.05
"""
import hydra

from mm_train.entry import reported_errors, task
from mm_train.fast_exit import fast_exit


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg):
    return task(cfg)


if __name__ == "__main__":
    with reported_errors():
        main()
    fast_exit()   # all files are written: skip the interpreter's teardown (0.3-6 s after import mindspore)
