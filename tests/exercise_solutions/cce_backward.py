import numpy as np


class CategoricalCrossentropy:
    def backward(self, dvalues, y_true):
        if len(y_true.shape) == 1:
            y_true = np.eye(dvalues.shape[1])[y_true]
        self.dinputs = -y_true / dvalues / len(dvalues)
        return self.dinputs
