"""The exceptions that end a run with an exit code, and "did you mean" suggestions.

- :class:`ConfigError` (exit 2): a problem in the config, the data or the device that the user can fix;
- :class:`TrainingVerdict` (exit 1): the run worked but its result is a "no": the training diverged
  (:class:`TrainingDiverged`), the network cannot learn (:class:`NetworkCannotLearn`), a part failed
  ``task=check`` (:class:`CheckFailed`).

Both are printed as one line without a traceback (:mod:`mm_train.app.entry`). Example::

    raise ConfigError("dataset.type", "unknown dataset 'cifar'", expected="a registered dataset",
                      suggestions=closest("cifar", ["cifar10", "mindrecord"]))
"""
from __future__ import annotations

import difflib
from typing import Iterable, Sequence


def closest(name: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """The registered names nearest to ``name``, best first."""
    candidates = [str(c) for c in candidates]
    hits = difflib.get_close_matches(str(name), candidates, n=n, cutoff=0.5)
    lowered = {c.lower(): c for c in candidates}
    if not hits and str(name).lower() in lowered:
        hits = [lowered[str(name).lower()]]
    return hits


class ConfigError(Exception):
    """A problem in the config, the data or the device that the user can fix.

    ``run.py`` prints it without a traceback and exits with code 2. Several
    problems can be reported at once with :meth:`ConfigError.collect`.
    """

    exit_code = 2

    def __init__(self, where: str, problem: str, expected: str | None = None,
                 suggestions: Sequence[str] = ()):
        self.where, self.problem, self.expected = where, problem, expected
        self.suggestions = list(suggestions)
        self.problems = [self]
        super().__init__(self._line())

    def _line(self) -> str:
        text = f"{self.where}: {self.problem}" if self.where else self.problem
        if self.expected:
            text += f" (expected {self.expected})"
        if self.suggestions:
            text += ". Did you mean " + " or ".join(f"'{s}'" for s in self.suggestions) + "?"
        return text

    @classmethod
    def collect(cls, errors: Sequence["ConfigError"]) -> "ConfigError":
        """One error that reports every problem in ``errors``."""
        if len(errors) == 1:
            return errors[0]
        combined = cls("", f"{len(errors)} problems in the config")
        combined.problems = [p for e in errors for p in e.problems]
        combined.args = (combined.__str__(),)
        return combined

    def __str__(self) -> str:
        if len(self.problems) == 1:
            return self._line()
        return f"{len(self.problems)} problems in the config:\n" + "\n".join(
            f"  - {p._line()}" for p in self.problems)


class TrainingVerdict(Exception):
    """The run finished its work and the answer is "no": printed as ``error: MESSAGE``, exit code 1."""

    exit_code = 1


class TrainingDiverged(TrainingVerdict):
    """The training loss became NaN or inf (:class:`mm_train.callbacks.divergence.StopOnNonFiniteLoss`)."""


class NetworkCannotLearn(TrainingVerdict):
    """``debug=overfit`` found that the loss on one repeated batch does not fall."""


class WriteFailed(TrainingVerdict):
    """A file of the run directory could not be written (disk full, permission denied, read-only).

        raise WriteFailed(path, err, last_checkpoint)   # "cannot write X: No space left on device; ..."
    """

    def __init__(self, path, err: OSError, last_checkpoint=None):
        reason = err.strerror or str(err)
        last = (f"the last complete checkpoint is {last_checkpoint}; after freeing space or fixing "
                "permissions, continue with resume=auto and the same hydra.run.dir"
                if last_checkpoint else "no complete checkpoint was written; run again after freeing space "
                "or fixing permissions")
        super().__init__(f"cannot write {path}: {reason}; {last}")


class CheckFailed(TrainingVerdict):
    """``task=check``: some parts did not compile or run on the device (the report is printed first)."""

    def __init__(self, failed: Sequence[str]):
        super().__init__(f"check failed: {', '.join(failed)} did not run (see the table above)")
        self.failed = list(failed)
