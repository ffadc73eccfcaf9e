"""Accuracy metrics: the fraction of predictions that count as right."""

from __future__ import annotations

import numpy as np

from .._checks import check_nonnegative
from ._buffers import Buffered


class Accuracy(Buffered):
    """Base class: ``calculate`` = mean of ``compare``.

    As in the book, every ``calculate`` also counts its matches, so that
    ``calculate_accumulated`` gives the accuracy over all the batches since
    ``new_pass`` — an epoch's accuracy.
    """

    accumulated_sum: int = 0
    accumulated_count: int = 0

    def init(self, y, reinit: bool = False) -> None:
        """Prepare from the training targets (only regression needs it)."""

    def compare(self, predictions: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Whether each prediction counts as right: a bool array of ``y``'s shape."""
        raise NotImplementedError

    def config(self) -> dict:
        """Settings that rebuild this metric: ``type(metric)(**metric.config())``."""
        return {}

    def calculate(self, predictions: np.ndarray, y: np.ndarray) -> float:
        """Fraction of ``predictions`` that match ``y`` (also added to the running count)."""
        matches = self.compare(predictions, y)
        correct = int(np.count_nonzero(matches))
        self.accumulated_sum += correct
        self.accumulated_count += matches.size
        return correct / matches.size

    def new_pass(self) -> None:
        """Start a new running count for ``calculate_accumulated`` (the book's name)."""
        self.accumulated_sum = 0
        self.accumulated_count = 0

    def calculate_accumulated(self) -> float:
        """Fraction of matches over every ``calculate`` since ``new_pass``."""
        if self.accumulated_count == 0:
            raise ValueError(f"{type(self).__name__}.calculate_accumulated: nothing compared "
                             "since new_pass(); call calculate(...) first")
        return self.accumulated_sum / self.accumulated_count

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class CategoricalAccuracy(Accuracy):
    """Class predictions against labels (indices or one-hot rows).

    With ``binary=True`` predictions and targets are 0/1 arrays of the same
    shape (sigmoid outputs), compared element by element.
    """

    def __init__(self, binary: bool = False):
        self.binary = bool(binary)

    def compare(self, predictions, y):
        if self.reuse_buffers:  # the Model's training loop: labels checked, shapes match
            return np.equal(predictions, y, out=self._buffer("matches", y.shape, bool))
        y = np.asarray(y)
        if not self.binary and y.ndim == 2:
            y = np.argmax(y, axis=1) if y.shape[1] > 1 else y.reshape(-1)
        if self.binary:
            y = y.reshape(predictions.shape) if y.size == predictions.size else y
        if np.shape(predictions) != y.shape:
            raise ValueError(
                f"predictions of shape {np.shape(predictions)} cannot be compared with "
                f"targets of shape {y.shape}"
            )
        return np.equal(predictions, y, out=self._buffer("matches", y.shape, bool))

    def config(self) -> dict:
        return {"binary": self.binary}

    def __repr__(self) -> str:
        return "CategoricalAccuracy(binary=True)" if self.binary else "CategoricalAccuracy()"


class RegressionAccuracy(Accuracy):
    """A prediction counts as right within ``precision`` of the target.

    ``precision`` defaults to std(y) / 250, computed once by ``init`` (the book's rule);
    it is 0 for constant targets (no prediction counts as right then, as in the book).
    """

    def __init__(self, precision: float | None = None):
        self.fixed_precision = precision is not None
        self.precision = None if precision is None else check_nonnegative("precision", precision)

    def init(self, y, reinit: bool = False) -> None:
        if not self.fixed_precision and (self.precision is None or reinit):
            self.precision = float(np.std(y)) / 250

    def compare(self, predictions, y):
        if self.precision is None:
            self.init(y)
        y = np.asarray(y)
        if y.ndim == 1 and np.ndim(predictions) == 2 and np.shape(predictions)[1] == 1:
            y = y.reshape(-1, 1)
        if np.shape(predictions) != y.shape:
            raise ValueError(
                f"predictions of shape {np.shape(predictions)} cannot be compared with "
                f"targets of shape {y.shape}"
            )
        errors = self._buffer("errors", y.shape, np.result_type(predictions, y))
        np.subtract(predictions, y, out=errors)
        np.abs(errors, out=errors)
        return np.less(errors, self.precision, out=self._buffer("matches", y.shape, bool))

    def config(self) -> dict:
        return {"precision": self.precision}

    def __repr__(self) -> str:
        return f"RegressionAccuracy(precision={self.precision!r})"
