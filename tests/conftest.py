"""Shared test helpers."""

from pathlib import Path

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


# Headless Chromium for the tests that read pages in a browser (the playground, the site).
# Debian's build: Playwright's own browser download is not reachable; .ci/run installs it.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium; .ci/run does)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()
