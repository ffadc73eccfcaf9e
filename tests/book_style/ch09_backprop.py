# Book-style script (chapters 5-9): a forward pass, the loss, accuracy, and backpropagation
# with the fused softmax/cross-entropy object. The book's classes are replaced by one line.
import nnfs
import numpy as np
from nnfs.datasets import spiral_data

nnfs.init()

from chainrule.nnfs import *

X, y = spiral_data(samples=100, classes=3)

dense1 = Layer_Dense(2, 3)
activation1 = Activation_ReLU()
dense2 = Layer_Dense(3, 3)
loss_activation = Activation_Softmax_Loss_CategoricalCrossentropy()

dense1.forward(X)
activation1.forward(dense1.output)
dense2.forward(activation1.output)
loss = loss_activation.forward(dense2.output, y)
print(loss_activation.output[:5])
print("loss:", loss)

predictions = np.argmax(loss_activation.output, axis=1)
print("acc:", np.mean(predictions == y))

loss_activation.backward(loss_activation.output, y)
dense2.backward(loss_activation.dinputs)
activation1.backward(dense2.dinputs)
dense1.backward(activation1.dinputs)
print(dense1.dweights)
print(dense1.dbiases)
print(dense2.dweights)
print(dense2.dbiases)

# The separate softmax and loss backward passes give the same gradient (chapter 9's check).
softmax = Activation_Softmax()
softmax.output = loss_activation.output
loss_function = Loss_CategoricalCrossentropy()
loss_function.backward(softmax.output, y)
softmax.backward(loss_function.dinputs)
print("max difference:", np.max(np.abs(softmax.dinputs - loss_activation.dinputs)))
