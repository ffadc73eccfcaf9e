"""Activation functions, as layers: an elementwise (or row-wise) forward and its derivative.

Each ``backward`` multiplies the upstream gradient ``dvalues`` by the local
derivative of the activation — the chain rule, one link at a time.
"""

from __future__ import annotations

import numpy as np

from .. import _kernels
from .._checks import check_nonnegative
from ._layers import Layer, _check_inputs, diagonal_jacobian


class ReLU(Layer):
    """Rectified linear unit: ``max(0, x)``."""

    def forward(self, inputs: np.ndarray, training: bool = True) -> np.ndarray:
        """``inputs`` (n_samples, k) → ``output`` of the same shape."""
        self.inputs = _check_inputs(self, inputs)
        self.output = self._buffer("output", self.inputs.shape, self.inputs.dtype)
        if (kernels := _kernels.fast(self.inputs, self.output)) is not None:
            kernels.relu_forward(self.inputs, self.output)  # np.maximum below, compiled
            return self.output
        # max(x, 0). Against an array of zeros NumPy runs a vectorised loop, about three
        # times faster than against the scalar 0; the training loop keeps one such array.
        zero = self._constant(0, self.inputs.shape, self.inputs.dtype) if self.reuse_buffers else 0
        np.maximum(self.inputs, zero, out=self.output)
        return self.output

    def backward(self, dvalues: np.ndarray) -> np.ndarray:
        """∂ReLU/∂x is 1 where x > 0 and 0 elsewhere, so gradients pass or stop."""
        dvalues = self._check_dvalues(dvalues)
        self.dinputs = self._buffer("dinputs", dvalues.shape, dvalues.dtype)
        if (kernels := _kernels.fast(dvalues, self.output, self.dinputs)) is not None:
            kernels.relu_backward(dvalues, self.output, self.dinputs)  # the lines below
            return self.dinputs
        # The output max(x, 0) is > 0 exactly where x > 0, so the step function is
        # (output > 0), written straight into a float array as 1.0 or 0.0.
        passes = self._buffer("passes", dvalues.shape, self.output.dtype)
        np.greater(self.output, self.output.dtype.type(0), out=passes)
        np.multiply(dvalues, passes, out=self.dinputs)
        return self.dinputs

    def derivative(self, inputs: np.ndarray) -> np.ndarray:
        """∂ReLU/∂x element-wise at ``inputs`` (n_samples, k): 1 where x > 0, else 0."""
        inputs = _check_inputs(self, inputs)
        return (inputs > 0).astype(inputs.dtype)

    def jacobian(self, inputs: np.ndarray) -> np.ndarray:
        """The derivative on the diagonal: (n_samples, k, k)."""
        return diagonal_jacobian(self.derivative(inputs))

    def local_rule(self) -> str:
        return "ReLU: ∂a/∂z = 1 where z > 0, else 0"


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

    def derivative(self, inputs: np.ndarray) -> np.ndarray:
        """Element-wise at ``inputs`` (n_samples, k): 1 where x > 0, else ``alpha``."""
        inputs = _check_inputs(self, inputs)
        return np.where(inputs > 0, 1, self.alpha).astype(inputs.dtype)

    def jacobian(self, inputs: np.ndarray) -> np.ndarray:
        """The derivative on the diagonal: (n_samples, k, k)."""
        return diagonal_jacobian(self.derivative(inputs))

    def local_rule(self) -> str:
        return f"LeakyReLU: ∂a/∂z = 1 where z > 0, else α = {self.alpha:g}"


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
        if (kernels := _kernels.fast(dvalues, self.output)) is not None:
            self.dinputs = self._buffer("dinputs", dvalues.shape, dvalues.dtype)
            kernels.sigmoid_backward(dvalues, self.output, self.dinputs)  # the line below
            return self.dinputs
        self.dinputs = dvalues * (1 - self.output) * self.output
        return self.dinputs

    def predictions(self, outputs: np.ndarray) -> np.ndarray:
        return (outputs > 0.5) * 1

    def derivative(self, inputs: np.ndarray) -> np.ndarray:
        """σ'(x) = σ(x)·(1 − σ(x)) element-wise at ``inputs`` (n_samples, k)."""
        # A fresh layer's forward gives σ(x) without touching this layer's stored output.
        s = Sigmoid().forward(inputs)
        return s * (1 - s)

    def jacobian(self, inputs: np.ndarray) -> np.ndarray:
        """The derivative on the diagonal: (n_samples, k, k)."""
        return diagonal_jacobian(self.derivative(inputs))

    def local_rule(self) -> str:
        return "Sigmoid: ∂σ/∂z = σ(z)·(1 − σ(z))"


class Tanh(Layer):
    """Hyperbolic tangent, output in (−1, 1)."""

    def forward(self, inputs: np.ndarray, training: bool = True) -> np.ndarray:
        """``inputs`` (n_samples, k) → ``output`` of the same shape."""
        self.inputs = _check_inputs(self, inputs)
        self.output = self._buffer("output", self.inputs.shape, self.inputs.dtype)
        np.tanh(self.inputs, out=self.output)
        return self.output

    def backward(self, dvalues: np.ndarray) -> np.ndarray:
        """tanh'(x) = 1 − tanh²(x), computed from the stored output."""
        dvalues = self._check_dvalues(dvalues)
        self.dinputs = self._buffer("dinputs", dvalues.shape, dvalues.dtype)
        if (kernels := _kernels.fast(dvalues, self.output, self.dinputs)) is not None:
            kernels.tanh_backward(dvalues, self.output, self.dinputs)  # the lines below
            return self.dinputs
        np.multiply(self.output, self.output, out=self.dinputs)
        np.subtract(1, self.dinputs, out=self.dinputs)
        self.dinputs *= dvalues
        return self.dinputs

    def derivative(self, inputs: np.ndarray) -> np.ndarray:
        """tanh'(x) = 1 − tanh²(x) element-wise at ``inputs`` (n_samples, k)."""
        inputs = _check_inputs(self, inputs)
        return 1 - np.tanh(inputs) ** 2

    def jacobian(self, inputs: np.ndarray) -> np.ndarray:
        """The derivative on the diagonal: (n_samples, k, k)."""
        return diagonal_jacobian(self.derivative(inputs))

    def local_rule(self) -> str:
        return "Tanh: ∂tanh/∂z = 1 − tanh²(z)"


class Softmax(Layer):
    """Row-wise softmax: ``exp(x_i) / Σ_j exp(x_j)``; predictions are the argmax."""

    def forward(self, inputs: np.ndarray, training: bool = True) -> np.ndarray:
        """``inputs`` (n_samples, n_classes) logits → probabilities, rows summing to 1."""
        self.inputs = _check_inputs(self, inputs)
        self.output = self._buffer("output", self.inputs.shape, self.inputs.dtype)
        if (kernels := _kernels.fast(self.inputs, self.output)) is not None:
            kernels.softmax_forward(self.inputs, self.output)  # the lines below, compiled
            return self.output
        samples, classes = self.inputs.shape
        row = self._buffer("row", (samples, 1), self.inputs.dtype)
        # Subtracting the row maximum changes nothing mathematically and keeps exp ≤ 1.
        _row_max(self, self.inputs, out=row)
        np.subtract(self.inputs, row, out=self.output)
        exp_values = np.exp(self.output, out=self.output)
        # Normalise each row by its sum Σ_j e^(x_j), written as a product with a column of ones.
        np.matmul(exp_values, self._constant(1, (classes, 1), exp_values.dtype), out=row)
        exp_values /= row
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
        self.dinputs = self._buffer("dinputs", dvalues.shape, dvalues.dtype)
        s_dot_d = self._buffer("s_dot_d", (len(s), 1), dvalues.dtype)
        np.multiply(s, dvalues, out=self.dinputs)
        np.sum(self.dinputs, axis=1, keepdims=True, out=s_dot_d)
        np.subtract(dvalues, s_dot_d, out=self.dinputs)
        self.dinputs *= s
        return self.dinputs

    def predictions(self, outputs: np.ndarray) -> np.ndarray:
        classes = self._buffer("predictions", (len(outputs),), np.intp)
        if outputs.ndim == 2 and (kernels := _kernels.fast(outputs)) is not None:
            kernels.row_argmax(outputs, classes)  # np.argmax below, compiled
            return classes
        return np.argmax(outputs, axis=1, out=classes)

    def jacobian(self, inputs: np.ndarray) -> np.ndarray:
        """diag(s) − s·sᵀ for each sample's softmax s: (n_samples, k, k).

        ∂s_i/∂z_j = s_i·(δ_ij − s_j): every probability depends on every logit,
        through the shared normalising sum.
        """
        # A fresh layer's forward gives s without touching this layer's stored output.
        s = Softmax().forward(inputs)
        return s[:, :, None] * np.eye(s.shape[1], dtype=s.dtype) - s[:, :, None] * s[:, None, :]

    def local_rule(self) -> str:
        return "Softmax: ∂s_i/∂z_j = s_i·(δ_ij − s_j), i.e. diag(s) − s·sᵀ"


def _row_max(layer: Layer, x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """The maximum of each row of ``x`` (n, k) into ``out`` (n, 1).

    NumPy reduces along short rows slowly; on a transposed copy the same maxima
    are a reduction down the columns, vectorised across the samples.
    """
    transposed = layer._buffer("transposed", x.shape[::-1], x.dtype)
    np.copyto(transposed, x.T)
    np.maximum.reduce(transposed, axis=0, out=out.reshape(-1))
    return out


class Linear(Layer):
    """The identity, for regression outputs: ``output = inputs``."""

    def forward(self, inputs: np.ndarray, training: bool = True) -> np.ndarray:
        """``inputs`` (n_samples, k) → a copy as ``output``."""
        self.inputs = _check_inputs(self, inputs)
        self.output = self._buffer("output", self.inputs.shape, self.inputs.dtype)
        np.copyto(self.output, self.inputs)
        return self.output

    def backward(self, dvalues: np.ndarray) -> np.ndarray:
        """The derivative of the identity is 1: gradients pass unchanged."""
        dvalues = self._check_dvalues(dvalues)
        self.dinputs = self._buffer("dinputs", dvalues.shape, dvalues.dtype)
        np.copyto(self.dinputs, dvalues)
        return self.dinputs

    def derivative(self, inputs: np.ndarray) -> np.ndarray:
        """The identity's derivative: ones, (n_samples, k)."""
        inputs = _check_inputs(self, inputs)
        return np.ones(inputs.shape, inputs.dtype)

    def jacobian(self, inputs: np.ndarray) -> np.ndarray:
        """The derivative on the diagonal: (n_samples, k, k)."""
        return diagonal_jacobian(self.derivative(inputs))

    def local_rule(self) -> str:
        return "Linear: ∂a/∂z = 1 (the identity)"
