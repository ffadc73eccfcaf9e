"""Shared test helpers."""

import numpy as np
import pytest

from chainrule import Layer

# Layers and losses must agree with central differences to this relative error (float64).
GRAD_TOL = 1e-6

# (n_samples, n_inputs, n_outputs): batch size 1, non-square, single feature, wide.
SHAPES = [(1, 3, 2), (5, 4, 7), (7, 1, 1), (3, 6, 3), (16, 2, 5)]


def away_from_zero(rng: np.random.Generator, shape, low: float = 0.1, high: float = 2.0):
    """Values of random sign with |x| in [low, high]: away from ReLU-style kinks."""
    return rng.uniform(low, high, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def probabilities(rng: np.random.Generator, shape):
    """Rows of a softmax of random logits: valid predictions for cross-entropy."""
    logits = rng.normal(size=shape)
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class FirstRows(Layer):
    """A pass-through layer that records the first row of every training batch."""

    def __init__(self):
        self.rows = []

    def forward(self, inputs, training=True):
        if training:
            self.rows.append(tuple(inputs[0]))
        self.output = inputs
        return inputs

    def backward(self, dvalues):
        self.dinputs = dvalues
        return dvalues


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
