"""The seed, section 2: backpropagation through a single neuron.

One neuron with three inputs, a ReLU, and the loss (output − 0)². The forward
pass goes inputs → Dense → ReLU → loss; the backward pass chains the local
derivatives in reverse, and plain gradient descent (SGD) takes the step.

Run:  python examples/01_single_neuron.py
"""

import numpy as np

from chainrule import SGD, Dense, MeanSquaredError, ReLU


def train(iterations: int = 200, verbose: bool = True):
    """Train the seed's neuron; return (losses, weights, bias)."""
    neuron = Dense(3, 1, dtype=np.float64)
    # The seed's starting point, one weight per input (a column: 3 inputs → 1 neuron).
    neuron.weights[:] = np.array([[-3.0], [-1.0], [2.0]])
    neuron.biases[:] = 1.0
    relu = ReLU()
    loss_function = MeanSquaredError()  # one sample, one output: exactly (output − target)²
    optimizer = SGD(learning_rate=0.001)

    inputs = np.array([[1.0, -2.0, 3.0]])
    target_output = np.array([[0.0]])

    losses = []
    for iteration in range(iterations):
        # Forward pass: z = w·x + b, a = ReLU(z), loss = (a − target)².
        neuron.forward(inputs)
        relu.forward(neuron.output)
        loss = loss_function.calculate(relu.output, target_output)
        losses.append(loss)

        # Backward pass: ∂loss/∂a = 2(a − target), then ∂a/∂z, then ∂z/∂w = x and ∂z/∂b = 1.
        loss_function.backward(relu.output, target_output)
        relu.backward(loss_function.dinputs)
        neuron.backward(relu.dinputs)

        # w ← w − learning_rate · ∂loss/∂w
        optimizer.pre_update_params()
        optimizer.update_params(neuron)
        optimizer.post_update_params()

        if verbose:
            print(f"Iteration {iteration + 1}, Loss: {loss}")

    return losses, neuron.weights.ravel().copy(), float(neuron.biases[0, 0])


if __name__ == "__main__":
    losses, weights, bias = train()
    print("Final weights:", weights)
    print("Final bias:", bias)
