import numpy as np


def neuron(inputs, weights, bias, target):
    linear_output = np.dot(weights, inputs) + bias
    output = max(linear_output, 0.0)
    loss = (output - target) ** 2
    dloss_dlinear = 2 * (output - target) * (1.0 if linear_output > 0 else 0.0)
    return loss, dloss_dlinear * np.asarray(inputs), dloss_dlinear
