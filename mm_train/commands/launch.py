"""``mm-train launch --nproc N -- OVERRIDES``: data parallel on N workers with msrun (:mod:`mm_train.app.launch`).

    mm-train launch --nproc 2 -- +recipe=quickstart device=cpu
"""
from __future__ import annotations

import argparse

from mm_train.commands.parsers import add_command


def launch_command(args) -> int:
    from mm_train.app.launch import launch as run_launch
    overrides = [o for o in args.overrides if o != "--"]
    return run_launch(args.nproc, overrides, master_addr=args.master_addr, master_port=args.master_port,
                      nnodes=args.nnodes, node_rank=args.node_rank, cluster_time_out=args.cluster_time_out)


def add_to(sub) -> None:
    run = add_command(sub, "launch", "train a recipe data-parallel on several devices with msrun (one run directory; "
                      "exits non-zero naming the rank when a worker dies)",
                      "mm-train launch --nproc 2 -- +recipe=quickstart device=cpu\n"
                      "  mm-train launch --nproc 8 --nnodes 2 --node-rank 0 --master-addr 10.0.0.1 -- "
                      "+recipe=resnet50_cifar device=ascend hydra.run.dir=/shared/runs/r50", launch_command)
    run.add_argument("--nproc", type=int, required=True, help="workers (devices) on this node")
    run.add_argument("--nnodes", type=int, default=1, help="machines in the job (default 1)")
    run.add_argument("--node-rank", type=int, default=0, help="this machine's index, 0..nnodes-1")
    run.add_argument("--master-addr", default="127.0.0.1", help="address of node 0 (msrun's scheduler)")
    run.add_argument("--master-port", type=int, default=None, help="scheduler port (default: a free port; "
                     "give the same one on every node)")
    run.add_argument("--cluster-time-out", type=int, default=120,
                     help="seconds msrun waits for the cluster to form or a lost worker (default 120)")
    run.add_argument("overrides", nargs=argparse.REMAINDER, help="after --: run.py's arguments (+recipe=NAME ...)")
