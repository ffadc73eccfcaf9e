"""What chapters 18-21 change in the book's layers, losses and metrics, written as
subclasses of the chapter 17 classes so that each change shows:

* every layer's ``forward`` takes ``training`` (dropout drops only while training);
* activations answer ``predictions(outputs)``;
* the loss remembers the trainable layers and sums their penalties itself; its
  ``calculate`` also accumulates for ``calculate_accumulated`` (chapter 19);
* ``Accuracy`` classes, accumulated the same way;
* a dense layer hands out and takes its parameters (chapter 21).
"""

import numpy as np

from . import chapter17

__all__ = [
    "Accuracy",
    "Accuracy_Categorical",
    "Accuracy_Regression",
    "Activation_Linear",
    "Activation_ReLU",
    "Activation_Sigmoid",
    "Activation_Softmax",
    "Activation_Softmax_Loss_CategoricalCrossentropy",
    "Layer_Dense",
    "Layer_Dropout",
    "Layer_Input",
    "Loss",
    "Loss_BinaryCrossentropy",
    "Loss_CategoricalCrossentropy",
    "Loss_MeanAbsoluteError",
    "Loss_MeanSquaredError",
]


class Layer_Input:

    def forward(self, inputs, training):
        self.output = inputs


class Layer_Dense(chapter17.Layer_Dense):

    def forward(self, inputs, training):
        super().forward(inputs)

    def get_parameters(self):
        return self.weights, self.biases

    def set_parameters(self, weights, biases):
        self.weights = weights
        self.biases = biases


class Layer_Dropout(chapter17.Layer_Dropout):

    def forward(self, inputs, training):
        # Predicting: every unit passes, unscaled
        if not training:
            self.inputs = inputs
            self.output = inputs.copy()
            return
        super().forward(inputs)


class Activation_ReLU(chapter17.Activation_ReLU):

    def forward(self, inputs, training):
        super().forward(inputs)

    def predictions(self, outputs):
        return outputs


class Activation_Softmax(chapter17.Activation_Softmax):

    def forward(self, inputs, training):
        super().forward(inputs)

    def predictions(self, outputs):
        return np.argmax(outputs, axis=1)


class Activation_Sigmoid(chapter17.Activation_Sigmoid):

    def forward(self, inputs, training):
        super().forward(inputs)

    def predictions(self, outputs):
        return (outputs > 0.5) * 1


class Activation_Linear(chapter17.Activation_Linear):

    def forward(self, inputs, training):
        super().forward(inputs)

    def predictions(self, outputs):
        return outputs


class Loss:

    # The penalties of every remembered trainable layer
    def regularization_loss(self):
        regularization_loss = 0
        for layer in self.trainable_layers:
            if layer.weight_regularizer_l1 > 0:
                regularization_loss += layer.weight_regularizer_l1 * \
                    np.sum(np.abs(layer.weights))
            if layer.weight_regularizer_l2 > 0:
                regularization_loss += layer.weight_regularizer_l2 * \
                    np.sum(layer.weights * layer.weights)
            if layer.bias_regularizer_l1 > 0:
                regularization_loss += layer.bias_regularizer_l1 * \
                    np.sum(np.abs(layer.biases))
            if layer.bias_regularizer_l2 > 0:
                regularization_loss += layer.bias_regularizer_l2 * \
                    np.sum(layer.biases * layer.biases)
        return regularization_loss

    def remember_trainable_layers(self, trainable_layers):
        self.trainable_layers = trainable_layers

    def calculate(self, output, y, *, include_regularization=False):
        sample_losses = self.forward(output, y)
        data_loss = np.mean(sample_losses)
        # Kept for the mean over every batch of the pass
        self.accumulated_sum += np.sum(sample_losses)
        self.accumulated_count += len(sample_losses)
        if not include_regularization:
            return data_loss
        return data_loss, self.regularization_loss()

    def calculate_accumulated(self, *, include_regularization=False):
        data_loss = self.accumulated_sum / self.accumulated_count
        if not include_regularization:
            return data_loss
        return data_loss, self.regularization_loss()

    def new_pass(self):
        self.accumulated_sum = 0
        self.accumulated_count = 0


class Loss_CategoricalCrossentropy(Loss, chapter17.Loss_CategoricalCrossentropy):
    pass


class Loss_BinaryCrossentropy(Loss, chapter17.Loss_BinaryCrossentropy):
    pass


class Loss_MeanSquaredError(Loss, chapter17.Loss_MeanSquaredError):
    pass


class Loss_MeanAbsoluteError(Loss, chapter17.Loss_MeanAbsoluteError):
    pass


# From chapter 18 on the Model runs the softmax itself; only the backward pass is used.
Activation_Softmax_Loss_CategoricalCrossentropy = \
    chapter17.Activation_Softmax_Loss_CategoricalCrossentropy


class Accuracy:

    def calculate(self, predictions, y):
        comparisons = self.compare(predictions, y)
        accuracy = np.mean(comparisons)
        self.accumulated_sum += np.sum(comparisons)
        self.accumulated_count += len(comparisons)
        return accuracy

    def calculate_accumulated(self):
        accuracy = self.accumulated_sum / self.accumulated_count
        return accuracy

    def new_pass(self):
        self.accumulated_sum = 0
        self.accumulated_count = 0


class Accuracy_Regression(Accuracy):

    def __init__(self):
        self.precision = None

    # Right means within a 250th of the targets' standard deviation
    def init(self, y, reinit=False):
        if self.precision is None or reinit:
            self.precision = np.std(y) / 250

    def compare(self, predictions, y):
        return np.absolute(predictions - y) < self.precision


class Accuracy_Categorical(Accuracy):

    def __init__(self, *, binary=False):
        self.binary = binary

    def init(self, y):
        pass

    def compare(self, predictions, y):
        if not self.binary and len(y.shape) == 2:
            y = np.argmax(y, axis=1)
        return predictions == y
