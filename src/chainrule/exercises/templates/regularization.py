"""Exercise 9 of 13 — regularization: L1 and L2 penalties on a Dense layer.

What to do: write ``regularization_loss`` (the penalty this layer adds to the loss) and the
marked part of ``backward`` (the penalties' gradients added to ``dweights``/``dbiases``).

Shapes: as in dense_backward; λ (the four ``*_regularizer_*`` strengths) are floats ≥ 0.

The math (the book's)::

    penalty = λ₁·Σ|w| + λ₂·Σw²  (+ the same for the biases with their own λ)
    ∂(λ₁·Σ|w|)/∂w = λ₁·sign(w), taking +1 at w = 0 as the book does (np.sign(0) is 0)
    ∂(λ₂·Σw²)/∂w = 2·λ₂·w

A finished file is a drop-in for ``chainrule.Dense`` with regularizers.
"""

import numpy as np

from chainrule.nn import Layer


class Dense(Layer):
    params = ("weights", "biases")

    def __init__(self, n_inputs, n_neurons, weight_regularizer_l1=0.0,
                 weight_regularizer_l2=0.0, bias_regularizer_l1=0.0, bias_regularizer_l2=0.0):
        self.n_inputs, self.n_neurons = n_inputs, n_neurons
        self.weights = 0.01 * np.random.randn(n_inputs, n_neurons)
        self.biases = np.zeros((1, n_neurons))
        self.weight_regularizer_l1 = weight_regularizer_l1
        self.weight_regularizer_l2 = weight_regularizer_l2
        self.bias_regularizer_l1 = bias_regularizer_l1
        self.bias_regularizer_l2 = bias_regularizer_l2

    def forward(self, inputs, training=True):
        self.inputs = np.asarray(inputs)
        self.output = self.inputs @ self.weights + self.biases
        return self.output

    def backward(self, dvalues):
        self.dweights = self.inputs.T @ dvalues
        self.dbiases = np.sum(dvalues, axis=0, keepdims=True)
        # TODO: add the L1 and L2 gradients of the weights and of the biases
        raise NotImplementedError("Dense.backward: the regularization gradients")
        self.dinputs = dvalues @ self.weights.T
        return self.dinputs

    def regularization_loss(self):
        # TODO: λ₁·Σ|w| + λ₂·Σw² + the same for the biases
        raise NotImplementedError("Dense.regularization_loss")
