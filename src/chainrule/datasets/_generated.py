"""The book's toy problems, drawn: spiral, vertical and sine, and the playground's
circle, xor and gaussian.

``spiral_data``, ``vertical_data`` and ``sine_data`` follow the ``nnfs``
package's algorithms and signatures. With ``rng=None`` they draw from NumPy's
global state in the same order, so after the same ``np.random.seed(s)`` they
return the same arrays as ``nnfs.datasets``.
"""

from __future__ import annotations

import numpy as np

from .._checks import check_nonnegative, check_positive_int
from .._random import as_generator, standard_normal


def spiral_data(samples: int, classes: int, rng=None):
    """Interleaved spiral arms, one per class (Karpathy's CS231n toy data).

    Returns
    -------
    X : float64 array (samples·classes, 2)
        The points, class after class.
    y : uint8 array (samples·classes,)
        The class of each point, 0 to classes − 1.
    """
    rng = as_generator(rng)

    def arm(class_number: int, samples: int) -> np.ndarray:
        r = np.linspace(0.0, 1, samples)
        t = np.linspace(class_number * 4, (class_number + 1) * 4, samples)
        t = t + standard_normal(rng, samples) * 0.2
        return np.c_[r * np.sin(t * 2.5), r * np.cos(t * 2.5)]

    return _by_class(samples, classes, arm)


def vertical_data(samples: int, classes: int, rng=None):
    """Gaussian blobs side by side, one per class.

    Returns
    -------
    X : float64 array (samples·classes, 2)
        The points, class after class.
    y : uint8 array (samples·classes,)
        The class of each point, 0 to classes − 1.
    """
    rng = as_generator(rng)

    def blob(class_number: int, samples: int) -> np.ndarray:
        x0 = standard_normal(rng, samples) * 0.1 + class_number / 3
        x1 = standard_normal(rng, samples) * 0.1 + 0.5
        return np.c_[x0, x1]

    return _by_class(samples, classes, blob)


def _by_class(samples: int, classes: int, points):
    """Stack ``points(class_number, samples)`` for each class in turn, with its labels."""
    samples = check_positive_int("samples", samples)
    classes = check_positive_int("classes", classes)
    X = np.zeros((samples * classes, 2))
    y = np.zeros(samples * classes, dtype="uint8")
    for class_number in range(classes):
        rows = slice(samples * class_number, samples * (class_number + 1))
        X[rows] = points(class_number, samples)
        y[rows] = class_number
    return X, y


def circle_data(samples: int, noise: float = 0.0, rng=None):
    """A disc inside a ring (TensorFlow Playground's "circle", in the unit square).

    Class 0 lies within radius 0.5 of the origin, class 1 between radii 0.7 and 1.

    Parameters
    ----------
    samples : int
        Points per class.
    noise : float
        Standard deviation of Gaussian jitter added to every coordinate; the
        points under the jitter are the same for every ``noise``.
    rng : numpy.random.Generator, int or None
        Where the draws come from: a Generator, a seed for one, or None for
        NumPy's global state (seeded the book's way, ``np.random.seed(0)``).

    Returns
    -------
    X : float64 array (2·samples, 2)
        The points, class 0's first.
    y : uint8 array (2·samples,)
        The class of each point, 0 or 1.
    """
    noise = check_nonnegative("noise", noise)
    rng = as_generator(rng)

    def ring(class_number: int, samples: int) -> np.ndarray:
        low, high = ((0.0, 0.5), (0.7, 1.0))[class_number]
        radius = _uniform(rng, low, high, samples)
        angle = _uniform(rng, 0.0, 2 * np.pi, samples)
        points = np.c_[radius * np.sin(angle), radius * np.cos(angle)]
        return points + noise * standard_normal(rng, samples, 2)

    return _by_class(samples, 2, ring)


def xor_data(samples: int, noise: float = 0.0, rng=None):
    """Four quadrants (TensorFlow Playground's "xor"): the class is whether x₁·x₂ < 0.

    Class 0 fills the quadrants where x₁ and x₂ share a sign, class 1 the other
    two; coordinates keep 0.05 away from the axes so the classes touch nowhere.

    Parameters
    ----------
    samples : int
        Points per class.
    noise : float
        Standard deviation of Gaussian jitter added to every coordinate.
    rng : numpy.random.Generator, int or None
        Where the draws come from: a Generator, a seed for one, or None for
        NumPy's global state (seeded the book's way, ``np.random.seed(0)``).

    Returns
    -------
    X : float64 array (2·samples, 2)
        The points, class 0's first.
    y : uint8 array (2·samples,)
        The class of each point, 0 or 1.
    """
    noise = check_nonnegative("noise", noise)
    rng = as_generator(rng)

    def quadrants(class_number: int, samples: int) -> np.ndarray:
        magnitudes = _uniform(rng, 0.05, 1.0, (samples, 2))
        signs = np.where(_uniform(rng, 0.0, 1.0, samples) < 0.5, -1.0, 1.0)
        # The same sign on both axes for class 0, opposite signs for class 1.
        points = magnitudes * np.c_[signs, signs * (1 - 2 * class_number)]
        return points + noise * standard_normal(rng, samples, 2)

    return _by_class(samples, 2, quadrants)


def gaussian_data(samples: int, noise: float = 0.0, rng=None):
    """Two Gaussian blobs (TensorFlow Playground's "gauss"): an almost linear problem.

    Class 0 is centred at (−0.5, −0.5), class 1 at (0.5, 0.5), each with
    standard deviation 0.25 per coordinate.

    Parameters
    ----------
    samples : int
        Points per class.
    noise : float
        Standard deviation of extra Gaussian jitter added to every coordinate.
    rng : numpy.random.Generator, int or None
        Where the draws come from: a Generator, a seed for one, or None for
        NumPy's global state (seeded the book's way, ``np.random.seed(0)``).

    Returns
    -------
    X : float64 array (2·samples, 2)
        The points, class 0's first.
    y : uint8 array (2·samples,)
        The class of each point, 0 or 1.
    """
    noise = check_nonnegative("noise", noise)
    rng = as_generator(rng)

    def blob(class_number: int, samples: int) -> np.ndarray:
        centre = -0.5 if class_number == 0 else 0.5
        points = centre + 0.25 * standard_normal(rng, samples, 2)
        return points + noise * standard_normal(rng, samples, 2)

    return _by_class(samples, 2, blob)


def _uniform(rng, low: float, high: float, size) -> np.ndarray:
    """Uniform draws in [low, high): ``np.random.uniform`` when ``rng`` is None."""
    if rng is None:
        return np.random.uniform(low, high, size)
    return rng.uniform(low, high, size)


def sine_data(samples: int = 1000):
    """One period of a sine wave on [0, 1): a regression toy problem.

    Returns
    -------
    X : float64 array (samples, 1)
        Evenly spaced inputs, ``i / samples``.
    y : float64 array (samples, 1)
        sin(2π·X).
    """
    samples = check_positive_int("samples", samples)
    X = np.arange(samples).reshape(-1, 1) / samples
    y = np.sin(2 * np.pi * X).reshape(-1, 1)
    return X, y
