import numpy as np

from chainrule.nn import Layer


class Softmax(Layer):
    def forward(self, inputs, training=True):
        self.inputs = np.asarray(inputs)
        exp_values = np.exp(self.inputs - np.max(self.inputs, axis=1, keepdims=True))
        self.output = exp_values / np.sum(exp_values, axis=1, keepdims=True)
        return self.output

    def backward(self, dvalues):
        # Each sample's (diag(s) - s·sᵀ)·d, without building the Jacobians: s·(d - s·d).
        s = self.output
        self.dinputs = s * (dvalues - np.sum(s * dvalues, axis=1, keepdims=True))
        return self.dinputs

    def predictions(self, outputs):
        return np.argmax(outputs, axis=1)
