class MeanSquaredError:
    def backward(self, dvalues, y_true):
        samples, outputs = dvalues.shape
        self.dinputs = -2 * (y_true - dvalues) / outputs / samples
        return self.dinputs
