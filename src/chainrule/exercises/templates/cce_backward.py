"""Exercise 5 of 13 — cce_backward: the categorical cross-entropy's gradient.

What to do: write ``backward``: ∂L/∂ŷ of the *mean* loss over the batch. ``y_true`` is
either class indices (n_samples,) or one-hot rows (n_samples, n_classes): turn indices
into one-hot rows first. Do not change ``dvalues``.

Shapes: ``dvalues`` ŷ (n_samples, n_classes) · ``dinputs`` the same.

The math, in the seed's notation::

    L = (1/n) Σ_samples −Σ_k y_k·log ŷ_k
    ∂L/∂ŷ_k = −y_k / ŷ_k / n      (divide by the number of samples once)

A finished file is a drop-in for ``chainrule.CategoricalCrossentropy``.
"""

import numpy as np


class CategoricalCrossentropy:
    def forward(self, y_pred, y_true):
        y_pred = np.clip(y_pred, 1e-7, 1 - 1e-7)
        if len(y_true.shape) == 1:
            correct_confidences = y_pred[range(len(y_pred)), y_true]
        else:
            correct_confidences = np.sum(y_pred * y_true, axis=1)
        return -np.log(correct_confidences)

    def calculate(self, output, y):
        return float(np.mean(self.forward(output, y)))

    def backward(self, dvalues, y_true):
        # TODO: one-hot y_true if needed, then self.dinputs = −y/ŷ divided by n_samples
        raise NotImplementedError("CategoricalCrossentropy.backward")
        return self.dinputs
