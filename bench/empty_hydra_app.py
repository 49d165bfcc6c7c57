"""The smallest Hydra app: no config files, a task function that only prints.

bench/overhead.py times it from process start to ``task function entered``: the
start-up cost any ``@hydra.main`` app pays (importing Hydra, composing its own
config twice, setting up the job's directory and logging), with nothing of mm_train.

    python bench/empty_hydra_app.py hydra.run.dir=/tmp/empty
"""
import hydra


@hydra.main(version_base="1.3", config_path=None, config_name=None)
def main(cfg):
    print("task function entered", flush=True)


if __name__ == "__main__":
    main()
