"""Exercise 4 of 13 — softmax_backward: the softmax Jacobian, one sample at a time.

What to do: write ``backward``. Each sample's softmax output s depends on all of that
sample's inputs, so each sample has its own Jacobian J = diag(s) − s·sᵀ; multiply it by
that sample's row of ``dvalues``. Samples do not mix. Do not change ``dvalues``.

Shapes: ``output`` s and ``dvalues``: (n_samples, n_classes); one Jacobian per sample:
(n_classes, n_classes); ``dinputs``: (n_samples, n_classes).

The math, in the seed's notation::

    s_i = e^{z_i} / Σ_k e^{z_k}
    ∂s_i/∂z_j = s_i·(δ_ij − s_j)
    ∂L/∂z_j = Σ_i ∂L/∂s_i · ∂s_i/∂z_j     (np.diagflat, np.outer and a loop over samples)

A finished file is a drop-in for ``chainrule.Softmax``.
"""

import numpy as np

from chainrule.nn import Layer


class Softmax(Layer):
    def forward(self, inputs, training=True):
        self.inputs = np.asarray(inputs)
        # Subtract each row's maximum so that exp never overflows.
        exp_values = np.exp(self.inputs - np.max(self.inputs, axis=1, keepdims=True))
        self.output = exp_values / np.sum(exp_values, axis=1, keepdims=True)
        return self.output

    def backward(self, dvalues):
        # TODO: for each sample, its Jacobian diag(s) − s·sᵀ times its row of dvalues
        raise NotImplementedError("Softmax.backward")
        return self.dinputs

    def predictions(self, outputs):
        return np.argmax(outputs, axis=1)
