"""Train, evaluate or inspect a recipe (the same as ``mm-train run`` and ``python -m mm_train``).

    python run.py +recipe=quickstart
    python run.py +recipe=resnet50_cifar device=ascend optimizer.lr=0.05
    python run.py -m +recipe=quickstart lr_schedule.lr_max=0.1,0.05
"""
from mm_train.__main__ import main

if __name__ == "__main__":
    main()
