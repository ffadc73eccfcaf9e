"""Accuracy metrics: the fraction of predictions that count as right."""

from __future__ import annotations

import numpy as np

from ._buffers import Buffered
from ._checks import check_positive


class Accuracy(Buffered):
    """Base class: ``calculate`` = mean of ``compare``."""

    def init(self, y, reinit: bool = False) -> None:
        """Prepare from the training targets (only regression needs it)."""

    def compare(self, predictions: np.ndarray, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def config(self) -> dict:
        return {}

    def calculate(self, predictions: np.ndarray, y: np.ndarray) -> float:
        """Fraction of ``predictions`` that match ``y``."""
        matches = self.compare(predictions, y)
        return int(np.count_nonzero(matches)) / matches.size

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

    ``precision`` defaults to std(y) / 250, computed once by ``init`` (the book's rule).
    """

    def __init__(self, precision: float | None = None):
        self.fixed_precision = precision is not None
        self.precision = None if precision is None else check_positive("precision", precision)

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
