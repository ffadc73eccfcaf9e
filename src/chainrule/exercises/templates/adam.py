"""Exercise 8 of 13 — adam: Adam, with bias-corrected moments.

What to do: write ``pre_update_params`` (decay), ``update_params(layer)`` and
``post_update_params`` (count the step), as for SGD.

Shapes: per parameter θ of ``layer`` (names in ``layer.params``, gradients ``"d" + name``),
a first moment m and a second moment v of θ's shape, both starting at 0. Change θ in place.

The math (the book's; t = iterations + 1 is the number of this step)::

    m ← β₁·m + (1 − β₁)·g            v ← β₂·v + (1 − β₂)·g²
    m̂ = m / (1 − β₁ᵗ)                 v̂ = v / (1 − β₂ᵗ)          the bias correction
    θ ← θ − current_learning_rate · m̂ / (√v̂ + ε)

A finished file is a drop-in for ``chainrule.Adam``.
"""

import numpy as np

from chainrule.optim import Optimizer


class Adam(Optimizer):
    def __init__(self, learning_rate=0.001, decay=0.0, epsilon=1e-7, beta_1=0.9, beta_2=0.999):
        super().__init__(learning_rate, decay)
        self.epsilon, self.beta_1, self.beta_2 = epsilon, beta_1, beta_2
        self.moments = {}  # (id(layer), name) -> (m, v); or keep them on the layer

    def pre_update_params(self):
        # TODO: set self.current_learning_rate from self.learning_rate, decay and iterations
        raise NotImplementedError("Adam.pre_update_params")

    def update_params(self, layer):
        for name in layer.params:
            param, grad = getattr(layer, name), getattr(layer, "d" + name)  # noqa: F841
            # TODO: update m and v, correct them for t = iterations + 1, move param in place
            raise NotImplementedError("Adam.update_params")

    def post_update_params(self):
        # TODO: count the step
        raise NotImplementedError("Adam.post_update_params")

    def step(self, layers):
        """What chainrule.Model calls: the three steps above, for every trainable layer."""
        self.pre_update_params()
        for layer in layers:
            self.update_params(layer)
        self.post_update_params()


__all__ = ["Adam", "np"]
