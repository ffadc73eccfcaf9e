import numpy as np

from chainrule.optim import Optimizer


class Adam(Optimizer):
    def __init__(self, learning_rate=0.001, decay=0.0, epsilon=1e-7, beta_1=0.9, beta_2=0.999):
        super().__init__(learning_rate, decay)
        self.epsilon, self.beta_1, self.beta_2 = epsilon, beta_1, beta_2
        self.moments = {}

    def pre_update_params(self):
        self.current_learning_rate = self.learning_rate * (1 / (1 + self.decay * self.iterations))

    def update_params(self, layer):
        b1, b2, t = self.beta_1, self.beta_2, self.iterations + 1
        for name in layer.params:
            param, grad = getattr(layer, name), getattr(layer, "d" + name)
            m, v = self.moments.setdefault((id(layer), name),
                                           (np.zeros_like(param), np.zeros_like(param)))
            m[...] = b1 * m + (1 - b1) * grad
            v[...] = b2 * v + (1 - b2) * grad ** 2
            param -= self.current_learning_rate * (m / (1 - b1 ** t)) / (
                np.sqrt(v / (1 - b2 ** t)) + self.epsilon)

    def post_update_params(self):
        self.iterations += 1

    def step(self, layers):
        self.pre_update_params()
        for layer in layers:
            self.update_params(layer)
        self.post_update_params()
