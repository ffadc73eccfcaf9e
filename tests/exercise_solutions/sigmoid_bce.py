import numpy as np


class SigmoidBinaryCrossentropy:
    def forward(self, inputs, y_true):
        self.output = 1 / (1 + np.exp(-np.asarray(inputs)))
        p = np.clip(self.output, 1e-7, 1 - 1e-7)
        return float(np.mean(-(y_true * np.log(p) + (1 - y_true) * np.log(1 - p))))

    def backward(self, dvalues, y_true):
        samples, outputs = dvalues.shape
        self.dinputs = (dvalues - y_true) / outputs / samples
        return self.dinputs
