import numpy as np

from chainrule.nn import Layer


class Dropout(Layer):
    def __init__(self, rate):
        self.rate = rate

    def forward(self, inputs, training=True):
        self.inputs = np.asarray(inputs)
        if not training:
            self.binary_mask = None
            self.output = self.inputs.copy()
            return self.output
        keep = 1 - self.rate
        self.binary_mask = np.random.binomial(1, keep, size=self.inputs.shape) / keep
        self.output = self.inputs * self.binary_mask
        return self.output

    def backward(self, dvalues):
        self.dinputs = dvalues if self.binary_mask is None else dvalues * self.binary_mask
        return self.dinputs
