"""``mm-train sweep report DIR``: the jobs of a Hydra multirun, best first.

Reads each job's ``.hydra/overrides.yaml`` and ``metrics.json``, prints a table of
the swept parameters (the overrides that differ between jobs) and the final
metrics, and writes ``report.csv``, ``report.md`` and ``report.png`` (the metric
against each swept parameter) into DIR::

    python run.py -m +recipe=quickstart lr_schedule.lr_max=0.1,0.05 hydra.sweep.dir=sweeps/lr
    mm-train sweep report sweeps/lr
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from mm_train.errors import ConfigError
from mm_train.metrics import lower_is_better


@dataclass
class Job:
    directory: Path
    overrides: dict[str, str]
    metrics: dict[str, float]


def find_jobs(sweep_dir: Path) -> list[Job]:
    jobs = []
    for overrides_file in sorted(sweep_dir.rglob(".hydra/overrides.yaml")):
        job_dir = overrides_file.parent.parent
        overrides = dict(item.split("=", 1) for item in yaml.safe_load(overrides_file.read_text()) or [])
        metrics_file = job_dir / "metrics.json"
        metrics = json.loads(metrics_file.read_text())["final"] if metrics_file.is_file() else {}
        jobs.append(Job(job_dir, overrides, metrics))
    return jobs


def swept(jobs: list[Job]) -> list[str]:
    """The override keys whose values differ between jobs (all of them for a single job)."""
    keys = sorted({k for job in jobs for k in job.overrides})
    varying = [k for k in keys if len({job.overrides.get(k) for job in jobs}) > 1]
    return varying or keys


def ranked(jobs: list[Job], metric: str, lower_is_better: bool) -> list[Job]:
    done = [j for j in jobs if metric in j.metrics]
    failed = [j for j in jobs if metric not in j.metrics]
    return sorted(done, key=lambda j: j.metrics[metric], reverse=not lower_is_better) + failed


def _number(text: str):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def plot(jobs: list[Job], params: list[str], metric: str, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = [j for j in jobs if metric in j.metrics]
    fig, axes = plt.subplots(1, len(params), figsize=(4.5 * len(params), 3.6), squeeze=False)
    for ax, param in zip(axes[0], params):
        values = [j.overrides.get(param, "") for j in done]
        numbers = [_number(v) for v in values]
        if all(n is not None for n in numbers):
            xs = numbers
        else:
            labels = sorted(set(values))
            xs = [labels.index(v) for v in values]
            ax.set_xticks(range(len(labels)), labels, rotation=30)
        ax.scatter(xs, [j.metrics[metric] for j in done])
        ax.set_xlabel(param)
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def report(sweep_dir: Path, metric: str = "acc") -> list[list[str]]:
    """Write report.csv / report.md / report.png into ``sweep_dir``; return the table rows."""
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise ConfigError("DIR", f"folder not found: {sweep_dir}", expected="a multirun directory (hydra.sweep.dir)")
    jobs = find_jobs(sweep_dir)
    if not jobs:
        raise ConfigError("DIR", f"no Hydra jobs in {sweep_dir}",
                          expected="a folder holding job folders with .hydra/overrides.yaml (python run.py -m ...)")
    params = swept(jobs)
    metrics = sorted({m for j in jobs for m in j.metrics}, key=lambda m: (m != metric, m))
    header = ["job", *params, *metrics]
    rows = [header] + [[job.directory.relative_to(sweep_dir).as_posix() or ".",
                        *(job.overrides.get(p, "") for p in params),
                        *(f"{job.metrics[m]:.6g}" if m in job.metrics else "failed" for m in metrics)]
                       for job in ranked(jobs, metric, lower_is_better(metric))]
    with open(sweep_dir / "report.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    markdown = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    markdown += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    (sweep_dir / "report.md").write_text("\n".join(markdown) + "\n", encoding="utf-8")
    if any(metric in j.metrics for j in jobs):
        plot(jobs, params, metric, sweep_dir / "report.png")
    return rows


def format_table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)
