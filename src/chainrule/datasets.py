"""Datasets: the book's toy problems, and real small data.

``spiral_data``, ``vertical_data`` and ``sine_data`` follow the ``nnfs``
package's algorithms and signatures. With ``rng=None`` they draw from NumPy's
global state in the same order, so after the same ``np.random.seed(s)`` they
return the same arrays as ``nnfs.datasets``.
"""

from __future__ import annotations

import numpy as np

from ._checks import check_positive_int
from ._random import as_generator, standard_normal


def spiral_data(samples: int, classes: int, rng=None):
    """Interleaved spiral arms, one per class (Karpathy's CS231n toy data).

    Returns
    -------
    X : float64 array (samples·classes, 2)
    y : uint8 array (samples·classes,)
    """
    samples = check_positive_int("samples", samples)
    classes = check_positive_int("classes", classes)
    rng = as_generator(rng)
    X = np.zeros((samples * classes, 2))
    y = np.zeros(samples * classes, dtype="uint8")
    for class_number in range(classes):
        ix = slice(samples * class_number, samples * (class_number + 1))
        r = np.linspace(0.0, 1, samples)
        t = np.linspace(class_number * 4, (class_number + 1) * 4, samples)
        t = t + standard_normal(rng, samples) * 0.2
        X[ix] = np.c_[r * np.sin(t * 2.5), r * np.cos(t * 2.5)]
        y[ix] = class_number
    return X, y


def vertical_data(samples: int, classes: int, rng=None):
    """Gaussian blobs side by side, one per class.

    Returns
    -------
    X : float64 array (samples·classes, 2)
    y : uint8 array (samples·classes,)
    """
    samples = check_positive_int("samples", samples)
    classes = check_positive_int("classes", classes)
    rng = as_generator(rng)
    X = np.zeros((samples * classes, 2))
    y = np.zeros(samples * classes, dtype="uint8")
    for class_number in range(classes):
        ix = slice(samples * class_number, samples * (class_number + 1))
        x0 = standard_normal(rng, samples) * 0.1 + class_number / 3
        x1 = standard_normal(rng, samples) * 0.1 + 0.5
        X[ix] = np.c_[x0, x1]
        y[ix] = class_number
    return X, y


def sine_data(samples: int = 1000):
    """One period of a sine wave on [0, 1): a regression toy problem.

    Returns
    -------
    X : float64 array (samples, 1)
    y : float64 array (samples, 1)
    """
    samples = check_positive_int("samples", samples)
    X = np.arange(samples).reshape(-1, 1) / samples
    y = np.sin(2 * np.pi * X).reshape(-1, 1)
    return X, y
