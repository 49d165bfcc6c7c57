"""``mm-train sweep report DIR``: the jobs of a Hydra multirun, best first.

Reads each job's ``.hydra/overrides.yaml`` and ``metrics.json``, prints a table of
the swept parameters (the overrides that differ between jobs), the final
metrics and each job's status, and writes ``report.csv``, ``report.md`` and ``report.png`` (the metric
against each swept parameter, the best job marked) into DIR. Only finished jobs are ranked; the
others (running, interrupted, failed, diverged) follow with their last metrics, unless ``--all``::

    python run.py -m +recipe=quickstart lr_schedule.lr_max=0.1,0.05 hydra.sweep.dir=sweeps/lr
    mm-train sweep report sweeps/lr
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from mm_train.core.errors import ConfigError
from mm_train.core.metrics import lower_is_better


NOT_SET = "(not set)"   # a job that did not override a swept key


@dataclass
class Job:
    directory: Path
    overrides: dict[str, str]
    metrics: dict[str, float]
    status: str = "finished"

    @property
    def finished(self) -> bool:
        return self.status == "finished"


def read_job(job_dir: Path, overrides: dict[str, str]) -> Job:
    """A job's metrics (``final``, else its ``last`` evaluation) and status (a metrics.json without one: finished
    if it has ``final``; no metrics.json: failed)."""
    metrics_file = job_dir / "metrics.json"
    try:
        data = json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}
    except (OSError, ValueError):
        data = {}
    metrics = data.get("final") or data.get("last") or {}
    status = data.get("status") or ("finished" if data.get("final") else "failed")
    return Job(job_dir, overrides, {k: v for k, v in metrics.items() if isinstance(v, (int, float))}, status)


def find_jobs(sweep_dir: Path) -> list[Job]:
    jobs = []
    for overrides_file in sorted(sweep_dir.rglob(".hydra/overrides.yaml")):
        job_dir = overrides_file.parent.parent
        overrides = dict(item.split("=", 1) for item in yaml.safe_load(overrides_file.read_text()) or [])
        jobs.append(read_job(job_dir, overrides))
    return jobs


def swept(jobs: list[Job]) -> list[str]:
    """The override keys whose values differ between jobs (all of them for a single job)."""
    keys = sorted({k for job in jobs for k in job.overrides})
    varying = [k for k in keys if len({job.overrides.get(k) for job in jobs}) > 1]
    return varying or keys


def rankable(job: Job, metric: str, include_unfinished: bool = False) -> bool:
    return metric in job.metrics and (job.finished or include_unfinished)


def ranked(jobs: list[Job], metric: str, lower_is_better: bool, include_unfinished: bool = False) -> list[Job]:
    """Finished jobs best first, then the others (``include_unfinished``: every job with the metric is ranked)."""
    done = [j for j in jobs if rankable(j, metric, include_unfinished)]
    rest = [j for j in jobs if not rankable(j, metric, include_unfinished)]
    return sorted(done, key=lambda j: j.metrics[metric], reverse=not lower_is_better) + rest


def _number(text: str):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def job_name(job: Job, sweep_dir: Path) -> str:
    return job.directory.relative_to(sweep_dir).as_posix() or "."


def plot(jobs: list[Job], params: list[str], metric: str, path: Path, sweep_dir: Path | None = None,
         lower: bool = False) -> None:
    """The metric against each swept parameter: one panel per parameter (three to a row), each job a labelled
    point, the best job marked, jobs that did not set the parameter under "(not set)"."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sweep_dir = sweep_dir or path.parent
    done = [j for j in jobs if metric in j.metrics]
    best = ranked(done, metric, lower)[0] if any(j.finished for j in done) else None
    columns = min(len(params), 3)
    rows = (len(params) + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(4.8 * columns, 3.8 * rows + 0.6), squeeze=False)
    for ax in axes.flat[len(params):]:
        ax.set_visible(False)
    for ax, param in zip(axes.flat, params):
        values = [j.overrides.get(param, NOT_SET) for j in done]
        numbers = [_number(v) for v in values]
        if all(n is not None for n in numbers):
            xs = numbers
        else:
            labels = sorted(set(values), key=lambda v: (v == NOT_SET, _number(v) is None, _number(v) or 0, v))
            xs = [labels.index(v) for v in values]
            ax.set_xticks(range(len(labels)), labels, rotation=20, ha="right")
            ax.set_xlim(-0.5, len(labels) - 0.5)
        placed: dict = {}   # jobs at one x value: their labels stacked, not drawn over each other
        for job, x in sorted(zip(done, xs), key=lambda pair: -pair[0].metrics[metric]):
            y = job.metrics[metric]
            stacked = placed[x] = placed.get(x, -1) + 1
            style = dict(color="tab:blue") if job.finished else dict(color="tab:gray", marker="x")
            ax.scatter([x], [y], zorder=3, **style)
            ax.annotate(job_name(job, sweep_dir) + ("" if job.finished else f" ({job.status})"), (x, y),
                        textcoords="offset points", xytext=(6, 4 - 11 * stacked), fontsize=8)
            if job is best:
                ax.scatter([x], [y], s=220, facecolors="none", edgecolors="tab:red", linewidths=2, zorder=4,
                           label=f"best: job {job_name(job, sweep_dir)} ({metric}={y:.4g})")
        if best is not None and best in done:
            ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), fontsize=8, frameon=False)
        ax.margins(x=0.15, y=0.2)
        ax.set_xlabel(param)
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
    finished = sum(j.finished for j in jobs)
    fig.suptitle(f"sweep {sweep_dir.name}: {metric} of {len(jobs)} jobs ({finished} finished)"
                 + (f", best {metric} = {best.metrics[metric]:.4g} (job {job_name(best, sweep_dir)})" if best else ""),
                 fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def report(sweep_dir: Path, metric: str = "acc", include_unfinished: bool = False) -> list[list[str]]:
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
    header = ["job", *params, *metrics, "status"]
    rows = [header] + [[job_name(job, sweep_dir),
                        *(job.overrides.get(p, NOT_SET) for p in params),
                        *(f"{job.metrics[m]:.6g}" if m in job.metrics else "-" for m in metrics), job.status]
                       for job in ranked(jobs, metric, lower_is_better(metric), include_unfinished)]
    with open(sweep_dir / "report.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    markdown = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    markdown += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    (sweep_dir / "report.md").write_text("\n".join(markdown) + "\n", encoding="utf-8")
    if any(metric in j.metrics for j in jobs):
        plot(jobs, params, metric, sweep_dir / "report.png", sweep_dir, lower_is_better(metric))
    return rows


def format_table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)
