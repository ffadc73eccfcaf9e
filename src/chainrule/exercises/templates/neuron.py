"""Exercise 1 of 13 — neuron: one neuron, forward and backward, by hand.

What to do: compute the seed's single neuron — three inputs, a ReLU, the square loss — and
then ∂L/∂w and ∂L/∂b with the chain rule, one local derivative at a time.

Shapes: ``inputs`` (3,) · ``weights`` (3,) · ``bias`` a float · ``target`` a float.
Return ``(loss, dweights, dbias)``: a float, an array (3,), a float.

The math, in the seed's notation::

    z = w·x + b            a = ReLU(z)            L = (a − target)²
    ∂L/∂a = 2(a − target)  ∂a/∂z = 1 if z > 0 else 0
    ∂z/∂w_i = x_i          ∂z/∂b = 1
    ∂L/∂w_i = ∂L/∂a · ∂a/∂z · ∂z/∂w_i

Check it with ``chainrule exercises check neuron``.
"""

import numpy as np


def neuron(inputs, weights, bias, target):
    inputs = np.asarray(inputs, dtype=float)
    weights = np.asarray(weights, dtype=float)
    # TODO forward: linear_output = w·x + b, output = ReLU(linear_output), loss = (output − target)²
    raise NotImplementedError("neuron: the forward pass")
    # TODO backward: dloss_doutput, doutput_dlinear, then dloss_dweights and dloss_dbias
    raise NotImplementedError("neuron: the backward pass")
    return loss, dloss_dweights, dloss_dbias  # noqa: F821 (yours to define)
