"""A plain NumPy network written the way the book teaches it: the naive reference.

Each layer allocates its results, Adam keeps its moments on the layers and
builds every intermediate afresh. It is what chainrule is measured against.
"""

import numpy as np


class BookDense:
    def __init__(self, weights, biases):
        self.weights = weights.copy()
        self.biases = biases.copy()

    def forward(self, inputs):
        self.inputs = inputs
        self.output = np.dot(inputs, self.weights) + self.biases

    def backward(self, dvalues):
        self.dweights = np.dot(self.inputs.T, dvalues)
        self.dbiases = np.sum(dvalues, axis=0, keepdims=True)
        self.dinputs = np.dot(dvalues, self.weights.T)


class BookReLU:
    def forward(self, inputs):
        self.inputs = inputs
        self.output = np.maximum(0, inputs)

    def backward(self, dvalues):
        self.dinputs = dvalues.copy()
        self.dinputs[self.inputs <= 0] = 0


class BookSoftmaxCrossentropy:
    def forward(self, inputs, y_true):
        exp_values = np.exp(inputs - np.max(inputs, axis=1, keepdims=True))
        self.output = exp_values / np.sum(exp_values, axis=1, keepdims=True)
        clipped = np.clip(self.output, 1e-7, 1 - 1e-7)
        return np.mean(-np.log(clipped[range(len(clipped)), y_true]))

    def backward(self, dvalues, y_true):
        samples = len(dvalues)
        self.dinputs = dvalues.copy()
        self.dinputs[range(samples), y_true] -= 1
        self.dinputs = self.dinputs / samples


class BookAdam:
    def __init__(self, learning_rate, epsilon=1e-7, beta_1=0.9, beta_2=0.999):
        self.learning_rate = learning_rate
        self.epsilon, self.beta_1, self.beta_2 = epsilon, beta_1, beta_2
        self.iterations = 0

    def update_params(self, layer):
        if not hasattr(layer, "weight_cache"):
            layer.weight_momentums = np.zeros_like(layer.weights)
            layer.weight_cache = np.zeros_like(layer.weights)
            layer.bias_momentums = np.zeros_like(layer.biases)
            layer.bias_cache = np.zeros_like(layer.biases)
        t = self.iterations + 1
        b1, b2 = self.beta_1, self.beta_2
        layer.weight_momentums = b1 * layer.weight_momentums + (1 - b1) * layer.dweights
        layer.bias_momentums = b1 * layer.bias_momentums + (1 - b1) * layer.dbiases
        weight_momentums_corrected = layer.weight_momentums / (1 - b1**t)
        bias_momentums_corrected = layer.bias_momentums / (1 - b1**t)
        layer.weight_cache = b2 * layer.weight_cache + (1 - b2) * layer.dweights**2
        layer.bias_cache = b2 * layer.bias_cache + (1 - b2) * layer.dbiases**2
        weight_cache_corrected = layer.weight_cache / (1 - b2**t)
        bias_cache_corrected = layer.bias_cache / (1 - b2**t)
        layer.weights += -self.learning_rate * weight_momentums_corrected / (
            np.sqrt(weight_cache_corrected) + self.epsilon)
        layer.biases += -self.learning_rate * bias_momentums_corrected / (
            np.sqrt(bias_cache_corrected) + self.epsilon)

    def post_update_params(self):
        self.iterations += 1


class BookNetwork:
    """Dense → ReLU → … → Dense → softmax + cross-entropy, trained with the book's loop."""

    def __init__(self, params, learning_rate):
        self.dense = [BookDense(w, b) for w, b in params]
        self.relu = [BookReLU() for _ in params[:-1]]
        self.loss_activation = BookSoftmaxCrossentropy()
        self.optimizer = BookAdam(learning_rate)

    def train(self, X, y, epochs, batch_size):
        steps = 1 if batch_size is None else -(-len(X) // batch_size)
        for _ in range(epochs):
            for step in range(steps):
                if batch_size is None:
                    batch_X, batch_y = X, y
                else:
                    batch_X = X[step * batch_size:(step + 1) * batch_size]
                    batch_y = y[step * batch_size:(step + 1) * batch_size]
                self.step(batch_X, batch_y)

    def step(self, X, y):
        output = X
        for dense, relu in zip(self.dense[:-1], self.relu, strict=True):
            dense.forward(output)
            relu.forward(dense.output)
            output = relu.output
        self.dense[-1].forward(output)
        loss = self.loss_activation.forward(self.dense[-1].output, y)
        predictions = np.argmax(self.loss_activation.output, axis=1)
        accuracy = np.mean(predictions == y)
        self.loss_activation.backward(self.loss_activation.output, y)
        dvalues = self.loss_activation.dinputs
        self.dense[-1].backward(dvalues)
        dvalues = self.dense[-1].dinputs
        for dense, relu in zip(reversed(self.dense[:-1]), reversed(self.relu), strict=True):
            relu.backward(dvalues)
            dense.backward(relu.dinputs)
            dvalues = dense.dinputs
        for dense in self.dense:
            self.optimizer.update_params(dense)
        self.optimizer.post_update_params()
        return loss, accuracy

    def parameters(self):
        return [(d.weights, d.biases) for d in self.dense]
