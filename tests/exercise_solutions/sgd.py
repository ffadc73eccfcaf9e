import numpy as np

from chainrule.optim import Optimizer


class SGD(Optimizer):
    def __init__(self, learning_rate=1.0, decay=0.0, momentum=0.0):
        super().__init__(learning_rate, decay)
        self.momentum = momentum
        self.momentums = {}

    def pre_update_params(self):
        self.current_learning_rate = self.learning_rate * (1 / (1 + self.decay * self.iterations))

    def update_params(self, layer):
        for name in layer.params:
            param, grad = getattr(layer, name), getattr(layer, "d" + name)
            u = self.momentums.setdefault((id(layer), name), np.zeros_like(param))
            u[...] = self.momentum * u - self.current_learning_rate * grad
            param += u

    def post_update_params(self):
        self.iterations += 1

    def step(self, layers):
        self.pre_update_params()
        for layer in layers:
            self.update_params(layer)
        self.post_update_params()
