import numpy as np

from chainrule.nn import Layer


class ReLU(Layer):
    def forward(self, inputs, training=True):
        self.inputs = np.asarray(inputs)
        self.output = np.maximum(0, self.inputs)
        return self.output

    def backward(self, dvalues):
        self.dinputs = dvalues.copy()
        self.dinputs[self.inputs <= 0] = 0
        return self.dinputs
