"""Exercise 11 of 13 — sigmoid_bce: a sigmoid output with binary cross-entropy.

What to do: write ``forward`` (the sigmoid, then the mean loss) and ``backward`` (the
fused gradient). Chaining ∂L/∂σ = −(y/σ − (1 − y)/(1 − σ)) through σ' = σ(1 − σ)
collapses to σ − y, divided by the outputs and the samples it was averaged over.

Shapes: ``inputs`` z (n_samples, n_outputs) · ``y_true`` 0/1 targets, the same shape ·
``output`` σ the same · ``dinputs`` the same.

The math (the book's chapter 16)::

    σ = 1 / (1 + e^{−z})
    L = mean over samples of mean over outputs of −(y·log σ + (1 − y)·log(1 − σ))
        with σ clipped to [1e-7, 1 − 1e-7]
    ∂L/∂z = (σ − y) / (n_outputs · n_samples)

A finished file is a drop-in for ``chainrule.nn.SigmoidBinaryCrossentropy``.
"""

import numpy as np


class SigmoidBinaryCrossentropy:
    def forward(self, inputs, y_true):
        inputs = np.asarray(inputs)
        # TODO: self.output = σ(inputs); return the mean loss as a float
        raise NotImplementedError("SigmoidBinaryCrossentropy.forward")

    def backward(self, dvalues, y_true):
        # TODO: dvalues are the sigmoid outputs σ: self.dinputs = (σ − y) / (outputs · samples)
        raise NotImplementedError("SigmoidBinaryCrossentropy.backward")
        return self.dinputs


__all__ = ["SigmoidBinaryCrossentropy", "np"]
