"""Exercise 2 of 13 — dense_backward: a Dense layer's gradients for a batch.

What to do: write ``backward``. It receives ``dvalues`` = ∂L/∂output for every sample and
sets ``dweights``, ``dbiases`` and ``dinputs`` (and returns ``dinputs``). Do not change
``dvalues``: it belongs to the caller.

Shapes: ``inputs`` X (n_samples, n_inputs) · ``weights`` W (n_inputs, n_neurons) ·
``biases`` B (1, n_neurons) · ``dvalues`` (n_samples, n_neurons).
Each gradient has the shape of what it is the gradient of.

The math, in the seed's notation (the book stores W transposed, so inputs come first)::

    Z = X·W + B
    ∂L/∂W = Xᵀ · ∂L/∂Z        each weight sums input × upstream gradient over the samples
    ∂L/∂B = Σ_samples ∂L/∂Z   ∂z/∂b = 1, summed over the batch (keep the row: (1, n_neurons))
    ∂L/∂X = ∂L/∂Z · Wᵀ        every input feeds every neuron: sum over the neurons

A finished file is a drop-in for ``chainrule.Dense``.
"""

import numpy as np

from chainrule.nn import Layer


class Dense(Layer):
    params = ("weights", "biases")

    def __init__(self, n_inputs, n_neurons):
        self.n_inputs, self.n_neurons = n_inputs, n_neurons
        self.weights = 0.01 * np.random.randn(n_inputs, n_neurons)
        self.biases = np.zeros((1, n_neurons))

    def forward(self, inputs, training=True):
        self.inputs = np.asarray(inputs)
        self.output = self.inputs @ self.weights + self.biases
        return self.output

    def backward(self, dvalues):
        # TODO: self.dweights, self.dbiases and self.dinputs from dvalues
        raise NotImplementedError("Dense.backward")
        return self.dinputs

    def config(self):
        return {"n_inputs": self.n_inputs, "n_neurons": self.n_neurons}
