"""The seed, sections 3 and 3.1: backpropagation through a layer of three neurons.

Four inputs feed three neurons; their ReLU outputs are summed to y and the loss
is y² (the seed's "trivial but just an example" target of 0). The chain rule
gives ∂l/∂a_i = 2y for every neuron; the layer turns that into ∂l/∂W and ∂l/∂B.

Run:  python examples/02_layer.py
"""

import numpy as np

from chainrule import SGD, Dense, ReLU


def train(iterations: int = 200, verbose: bool = True):
    """Train the seed's layer; return (losses every 20 iterations, W, B)."""
    layer = Dense(4, 3, dtype=np.float64)
    # The seed writes one row per neuron; chainrule stores one column per neuron
    # (weights are (n_inputs, n_neurons)), so the seed's W is transposed here.
    W = np.array([[0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8], [0.9, 1.0, 1.1, 1.2]])
    layer.weights[:] = W.T
    layer.biases[:] = [0.1, 0.2, 0.3]
    relu = ReLU()
    optimizer = SGD(learning_rate=0.001)

    X = np.array([[1.0, 2.0, 3.0, 4.0]])

    losses = {}
    for iteration in range(iterations):
        # Forward pass: Z = X·W + B, A = ReLU(Z), y = Σ A, l = y².
        layer.forward(X)
        relu.forward(layer.output)
        y = float(np.sum(relu.output))
        loss = y**2

        # Backward pass: ∂l/∂y = 2y and ∂y/∂A = 1, so ∂l/∂A = 2y for every neuron.
        dl_dA = np.full_like(relu.output, 2 * y)
        relu.backward(dl_dA)
        layer.backward(relu.dinputs)

        optimizer.pre_update_params()
        optimizer.update_params(layer)
        optimizer.post_update_params()

        if iteration % 20 == 0:
            losses[iteration] = loss
            if verbose:
                print(f"Iteration {iteration}, Loss: {loss}")

    # Back to the seed's layout: one row per neuron.
    return losses, layer.weights.T.copy(), layer.biases.ravel().copy()


if __name__ == "__main__":
    losses, W, B = train()
    print("Final weights:\n", W)
    print("Final biases:\n", B)
