import numpy as np

from chainrule.nn import Layer


class Dense(Layer):
    params = ("weights", "biases")

    def __init__(self, n_inputs, n_neurons, weight_regularizer_l1=0.0,
                 weight_regularizer_l2=0.0, bias_regularizer_l1=0.0, bias_regularizer_l2=0.0):
        self.weights = 0.01 * np.random.randn(n_inputs, n_neurons)
        self.biases = np.zeros((1, n_neurons))
        self.weight_regularizer_l1 = weight_regularizer_l1
        self.weight_regularizer_l2 = weight_regularizer_l2
        self.bias_regularizer_l1 = bias_regularizer_l1
        self.bias_regularizer_l2 = bias_regularizer_l2

    def forward(self, inputs, training=True):
        self.inputs = np.asarray(inputs)
        self.output = self.inputs @ self.weights + self.biases
        return self.output

    def backward(self, dvalues):
        self.dweights = self.inputs.T @ dvalues
        self.dbiases = np.sum(dvalues, axis=0, keepdims=True)
        self.dweights += self.weight_regularizer_l1 * np.where(self.weights < 0, -1, 1)
        self.dweights += 2 * self.weight_regularizer_l2 * self.weights
        self.dbiases += self.bias_regularizer_l1 * np.where(self.biases < 0, -1, 1)
        self.dbiases += 2 * self.bias_regularizer_l2 * self.biases
        self.dinputs = dvalues @ self.weights.T
        return self.dinputs

    def regularization_loss(self):
        return (self.weight_regularizer_l1 * np.sum(np.abs(self.weights))
                + self.weight_regularizer_l2 * np.sum(self.weights ** 2)
                + self.bias_regularizer_l1 * np.sum(np.abs(self.biases))
                + self.bias_regularizer_l2 * np.sum(self.biases ** 2))
