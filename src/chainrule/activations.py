"""Activation functions, as layers: an elementwise (or row-wise) forward and its derivative.

Each ``backward`` multiplies the upstream gradient ``dvalues`` by the local
derivative of the activation — the chain rule, one link at a time.
"""

from __future__ import annotations

import numpy as np

from ._checks import check_nonnegative
from .layers import Layer, _check_inputs


class ReLU(Layer):
    """Rectified linear unit: ``max(0, x)``."""

    def forward(self, inputs: np.ndarray, training: bool = True) -> np.ndarray:
        """``inputs`` (n_samples, k) → ``output`` of the same shape."""
        self.inputs = _check_inputs(self, inputs)
        self.output = np.maximum(self.inputs, 0)
        return self.output

    def backward(self, dvalues: np.ndarray) -> np.ndarray:
        """∂ReLU/∂x is 1 where x > 0 and 0 elsewhere, so gradients pass or stop."""
        dvalues = self._check_dvalues(dvalues)
        self.dinputs = np.where(self.inputs > 0, dvalues, 0)
        return self.dinputs


class LeakyReLU(Layer):
    """``x`` for x > 0, ``alpha·x`` otherwise: a small slope keeps units alive."""

    def __init__(self, alpha: float = 0.01):
        self.alpha = check_nonnegative("LeakyReLU alpha", alpha)

    def forward(self, inputs: np.ndarray, training: bool = True) -> np.ndarray:
        """``inputs`` (n_samples, k) → ``output`` of the same shape."""
        self.inputs = _check_inputs(self, inputs)
        self.output = np.where(self.inputs > 0, self.inputs, self.alpha * self.inputs)
        return self.output

    def backward(self, dvalues: np.ndarray) -> np.ndarray:
        """The derivative is 1 for x > 0 and ``alpha`` otherwise."""
        dvalues = self._check_dvalues(dvalues)
        self.dinputs = np.where(self.inputs > 0, dvalues, self.alpha * dvalues)
        return self.dinputs

    def config(self) -> dict:
        return {"alpha": self.alpha}


class Sigmoid(Layer):
    """Logistic function ``σ(x) = 1 / (1 + e^(−x))``; predictions are ``σ > 0.5``."""

    def forward(self, inputs: np.ndarray, training: bool = True) -> np.ndarray:
        """``inputs`` (n_samples, k) → ``output`` in (0, 1), same shape."""
        self.inputs = _check_inputs(self, inputs)
        # e^(−|x|) never overflows; for x < 0, σ(x) = e^x / (1 + e^x) is the same value.
        e = np.exp(-np.abs(self.inputs))
        self.output = np.where(self.inputs >= 0, 1, e) / (1 + e)
        return self.output

    def backward(self, dvalues: np.ndarray) -> np.ndarray:
        """σ'(x) = σ(x)·(1 − σ(x)), computed from the stored output."""
        dvalues = self._check_dvalues(dvalues)
        self.dinputs = dvalues * (1 - self.output) * self.output
        return self.dinputs

    def predictions(self, outputs: np.ndarray) -> np.ndarray:
        return (outputs > 0.5) * 1


class Tanh(Layer):
    """Hyperbolic tangent, output in (−1, 1)."""

    def forward(self, inputs: np.ndarray, training: bool = True) -> np.ndarray:
        """``inputs`` (n_samples, k) → ``output`` of the same shape."""
        self.inputs = _check_inputs(self, inputs)
        self.output = np.tanh(self.inputs)
        return self.output

    def backward(self, dvalues: np.ndarray) -> np.ndarray:
        """tanh'(x) = 1 − tanh²(x), computed from the stored output."""
        dvalues = self._check_dvalues(dvalues)
        self.dinputs = dvalues * (1 - self.output * self.output)
        return self.dinputs


class Softmax(Layer):
    """Row-wise softmax: ``exp(x_i) / Σ_j exp(x_j)``; predictions are the argmax."""

    def forward(self, inputs: np.ndarray, training: bool = True) -> np.ndarray:
        """``inputs`` (n_samples, n_classes) logits → probabilities, rows summing to 1."""
        self.inputs = _check_inputs(self, inputs)
        # Subtracting the row maximum changes nothing mathematically and keeps exp ≤ 1.
        exp_values = np.exp(self.inputs - np.max(self.inputs, axis=1, keepdims=True))
        self.output = exp_values / np.sum(exp_values, axis=1, keepdims=True)
        return self.output

    def backward(self, dvalues: np.ndarray) -> np.ndarray:
        """Multiply each row's gradient by that sample's full softmax Jacobian.

        The Jacobian of one row is J = diag(s) − s·sᵀ (∂s_i/∂x_j = s_i(δ_ij − s_j)).
        It is symmetric, so the vector-Jacobian product is J·d = s ⊙ d − s·(s·d):
        the same numbers as building J with ``np.diagflat`` per sample, as the book
        does, without a Python loop over samples or an (n, k, k) tensor.
        """
        dvalues = self._check_dvalues(dvalues)
        s = self.output
        s_dot_d = np.sum(s * dvalues, axis=1, keepdims=True)
        self.dinputs = s * (dvalues - s_dot_d)
        return self.dinputs

    def predictions(self, outputs: np.ndarray) -> np.ndarray:
        return np.argmax(outputs, axis=1)


class Linear(Layer):
    """The identity, for regression outputs: ``output = inputs``."""

    def forward(self, inputs: np.ndarray, training: bool = True) -> np.ndarray:
        """``inputs`` (n_samples, k) → a copy as ``output``."""
        self.inputs = _check_inputs(self, inputs)
        self.output = self.inputs.copy()
        return self.output

    def backward(self, dvalues: np.ndarray) -> np.ndarray:
        """The derivative of the identity is 1: gradients pass unchanged."""
        dvalues = self._check_dvalues(dvalues)
        self.dinputs = dvalues.copy()
        return self.dinputs
