"""Where random numbers come from: an explicit generator, or NumPy's global state.

Everything random in chainrule takes ``rng=``: a ``numpy.random.Generator``, an
int seed, or ``None``. ``None`` draws from NumPy's global legacy state with the
same calls the book makes (``np.random.randn``, ``np.random.binomial``), so code
seeded the book's way (``np.random.seed(0)``) reproduces the book's numbers.
"""

from __future__ import annotations

import numbers

import numpy as np


def as_generator(rng) -> np.random.Generator | None:
    """Turn ``rng`` into a Generator, or ``None`` for NumPy's global state."""
    if rng is None or isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(
        f"rng must be a numpy.random.Generator, an int seed or None; got {type(rng).__name__}"
    )


def standard_normal(rng: np.random.Generator | None, *shape: int) -> np.ndarray:
    """Draws from N(0, 1) of ``shape``: ``np.random.randn`` when ``rng`` is None."""
    if rng is None:
        return np.random.randn(*shape)
    return rng.standard_normal(shape)


def binomial(rng: np.random.Generator | None, p: float, shape: tuple) -> np.ndarray:
    """0/1 draws with success probability ``p``, as the book's dropout mask."""
    if rng is None:
        return np.random.binomial(1, p, size=shape)
    return rng.binomial(1, p, size=shape)
