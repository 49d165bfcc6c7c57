"""``mm-train sweep report DIR``: the jobs of a Hydra multirun, best first (CSV, Markdown and a PNG).

    mm-train sweep report multirun/2026-11-26/10-00-00 --metric acc
"""
from __future__ import annotations

from pathlib import Path

from mm_train.commands.parsers import add_command, add_group


def report_command(args) -> int:
    from mm_train.reports.sweep_report import format_table, report
    rows = report(Path(args.dir), args.metric, include_unfinished=args.all)
    print(format_table(rows))
    print(f"\nwrote {Path(args.dir) / 'report.csv'}, report.md and report.png")
    return 0


def add_to(sub) -> None:
    actions = add_group(sub, "sweep", "report on Hydra sweeps", "mm-train sweep report multirun/DATE/TIME")
    report = add_command(actions, "report", "table of a multirun's jobs (best first), written as CSV, Markdown and "
                         "a PNG plot", "mm-train sweep report multirun/2026-11-26/10-00-00 --metric acc",
                         report_command)
    report.add_argument("dir", help="the multirun directory (hydra.sweep.dir)")
    report.add_argument("--metric", default="acc", help="the metric to rank by (default acc; loss ranks lowest first)")
    report.add_argument("--all", action="store_true",
                        help="rank unfinished jobs (interrupted, failed, diverged) by their last evaluation too")
