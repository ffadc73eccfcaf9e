"""Exercise 7 of 13 — sgd: stochastic gradient descent with decay and momentum.

What to do: write the three steps the training loop calls: ``pre_update_params`` (decay the
learning rate), ``update_params(layer)`` (move every parameter of ``layer`` against its
gradient, with momentum) and ``post_update_params`` (count the step).

Shapes: for each name in ``layer.params`` (``"weights"``, ``"biases"``) the parameter
``getattr(layer, name)`` and its gradient ``getattr(layer, "d" + name)`` share a shape;
a momentum array of that shape per parameter (keep it on the optimizer or the layer).
Change the parameters in place (``param += update``): the layer keeps the same arrays.

The math (the book's)::

    current_learning_rate = learning_rate · 1 / (1 + decay · iterations)
    u ← momentum · u − current_learning_rate · ∂L/∂θ      (u starts at 0)
    θ ← θ + u                                             (without momentum: u = −lr·∂L/∂θ)

A finished file is a drop-in for ``chainrule.SGD``.
"""

import numpy as np

from chainrule.optim import Optimizer


class SGD(Optimizer):
    def __init__(self, learning_rate=1.0, decay=0.0, momentum=0.0):
        super().__init__(learning_rate, decay)
        self.momentum = momentum
        self.momentums = {}  # (id(layer), name) -> array; or keep them on the layer

    def pre_update_params(self):
        # TODO: set self.current_learning_rate from self.learning_rate, decay and iterations
        raise NotImplementedError("SGD.pre_update_params")

    def update_params(self, layer):
        for name in layer.params:
            param, grad = getattr(layer, name), getattr(layer, "d" + name)  # noqa: F841
            # TODO: the update u (with momentum when self.momentum > 0), then param += u
            raise NotImplementedError("SGD.update_params")

    def post_update_params(self):
        # TODO: count the step
        raise NotImplementedError("SGD.post_update_params")

    def step(self, layers):
        """What chainrule.Model calls: the three steps above, for every trainable layer."""
        self.pre_update_params()
        for layer in layers:
            self.update_params(layer)
        self.post_update_params()


__all__ = ["SGD", "np"]
