"""Exercise 10 of 13 — dropout: inverted dropout, forward and backward.

What to do: write ``forward`` and ``backward``. While training, keep each input with
probability 1 − rate and scale the kept ones by 1/(1 − rate), so the expected output
equals the input; with ``training=False`` the layer is the identity. ``backward`` lets
the gradient through the *same* mask. Do not change ``dvalues``.

Shapes: ``inputs``, ``binary_mask``, ``output``, ``dvalues``, ``dinputs``: all
(n_samples, n_units). ``rate`` is the fraction *dropped* (as in chainrule and Keras).

The math (the book's)::

    mask = Bernoulli(1 − rate) / (1 − rate)   np.random.binomial(1, 1 - rate, size) / (1 - rate)
    output = inputs · mask
    ∂output/∂inputs = mask, so ∂L/∂inputs = ∂L/∂output · mask

A finished file is a drop-in for ``chainrule.Dropout``.
"""

import numpy as np

from chainrule.nn import Layer


class Dropout(Layer):
    def __init__(self, rate):
        self.rate = rate

    def forward(self, inputs, training=True):
        self.inputs = np.asarray(inputs)
        # TODO: training=False: output = inputs (and no mask); else draw self.binary_mask
        # and set self.output = inputs * mask
        raise NotImplementedError("Dropout.forward")
        return self.output

    def backward(self, dvalues):
        # TODO: self.dinputs = dvalues through the forward pass's mask
        raise NotImplementedError("Dropout.backward")
        return self.dinputs

    def config(self):
        return {"rate": self.rate}
