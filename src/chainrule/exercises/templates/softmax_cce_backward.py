"""Exercise 6 of 13 — softmax_cce_backward: softmax and cross-entropy together.

What to do: write ``backward``. Chaining −y/ŷ through the softmax Jacobian collapses to
p − y, the probabilities minus the one-hot targets. Start from a *copy* of ``dvalues``
(the caller still needs them), subtract 1 at each sample's correct class, divide by n.

Shapes: ``dvalues`` p (n_samples, n_classes) — the softmax outputs · ``y_true`` class
indices (n_samples,) or one-hot rows (n_samples, n_classes) · ``dinputs`` (n_samples,
n_classes).

The math, in the seed's notation::

    ∂L/∂z = (p − y) / n

A finished file is a drop-in for ``chainrule.nn.SoftmaxCategoricalCrossentropy``.
"""

import numpy as np  # noqa: F401 (you will need it)

from chainrule.nn import CategoricalCrossentropy, Softmax


class SoftmaxCategoricalCrossentropy:
    def __init__(self):
        self.activation = Softmax()
        self.loss = CategoricalCrossentropy()

    def forward(self, inputs, y_true):
        self.output = self.activation.forward(inputs)
        return self.loss.calculate(self.output, y_true)

    def backward(self, dvalues, y_true):
        # TODO: class indices from one-hot rows if needed; copy dvalues; subtract 1 at the
        # correct class of each sample; divide by the number of samples
        raise NotImplementedError("SoftmaxCategoricalCrossentropy.backward")
        return self.dinputs
