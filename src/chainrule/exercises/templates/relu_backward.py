"""Exercise 3 of 13 — relu_backward: the ReLU's gradient.

What to do: write ``backward``: pass the upstream gradient where the *input* was positive,
and stop it elsewhere. Do not change ``dvalues``.

Shapes: ``inputs``, ``output``, ``dvalues``, ``dinputs``: all (n_samples, n_units).

The math, in the seed's notation::

    a = max(0, z)
    ∂a/∂z = 1 if z > 0 else 0     (0 at z = 0 exactly, as in the book)
    ∂L/∂z = ∂L/∂a · ∂a/∂z         element by element

A finished file is a drop-in for ``chainrule.ReLU``.
"""

import numpy as np

from chainrule.nn import Layer


class ReLU(Layer):
    def forward(self, inputs, training=True):
        self.inputs = np.asarray(inputs)
        self.output = np.maximum(0, self.inputs)
        return self.output

    def backward(self, dvalues):
        # TODO: self.dinputs = dvalues where inputs > 0, 0 elsewhere
        raise NotImplementedError("ReLU.backward")
        return self.dinputs

    def predictions(self, outputs):
        return outputs
