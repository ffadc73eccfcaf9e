"""A lean hand-written NumPy training loop: no classes, one function.

What someone fluent in NumPy writes for an MLP with ReLU, softmax + cross-entropy
and Adam when they want it quick: whole-array expressions, in-place updates of the
Adam moments, nothing else. It computes the loss and accuracy of every step, as
every peer of the benchmark does.
"""

import numpy as np


def train(weights, biases, X, y, epochs, batch_size, learning_rate,
          beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    """Train in place: ``weights``/``biases`` are lists of float32 arrays (biases (1, k))."""
    params = [*weights, *biases]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    t = 0
    n = len(X)
    size = n if batch_size is None else batch_size
    last = len(weights) - 1
    for _ in range(epochs):
        for start in range(0, n, size):
            xb, yb = X[start:start + size], y[start:start + size]
            rows = np.arange(len(xb))
            # forward: ReLU after every layer but the last, softmax at the end
            activations = [xb]
            for W, b in zip(weights[:last], biases[:last], strict=True):
                activations.append(np.maximum(activations[-1] @ W + b, 0))
            logits = activations[-1] @ weights[last] + biases[last]
            exp = np.exp(logits - logits.max(axis=1, keepdims=True))
            probs = exp / exp.sum(axis=1, keepdims=True)
            loss = -np.log(np.clip(probs[rows, yb], 1e-7, 1 - 1e-7)).mean()
            accuracy = (probs.argmax(axis=1) == yb).mean()
            # backward: (p − y)/n, then each layer's gradients
            delta = probs
            delta[rows, yb] -= 1
            delta /= len(xb)
            dweights, dbiases = [None] * len(weights), [None] * len(weights)
            for i in range(last, -1, -1):
                dweights[i] = activations[i].T @ delta
                dbiases[i] = delta.sum(axis=0, keepdims=True)
                if i:
                    delta = (delta @ weights[i].T) * (activations[i] > 0)
            # Adam
            t += 1
            correction_1, correction_2 = 1 - beta_1**t, 1 - beta_2**t
            for p, g, mp, vp in zip(params, [*dweights, *dbiases], m, v, strict=True):
                mp *= beta_1
                mp += (1 - beta_1) * g
                vp *= beta_2
                vp += (1 - beta_2) * g * g
                p -= learning_rate * (mp / correction_1) / (np.sqrt(vp / correction_2) + epsilon)
    return float(loss), float(accuracy)
