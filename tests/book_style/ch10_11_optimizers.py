# Book-style script (chapters 10-11): the spiral network trained by hand with each of the
# book's optimizers, then tested on new spiral data (chapter 11's "validation"). The book
# trains for 10,000 epochs and prints every 100; here 100 and 10, because training amplifies
# rounding differences and this run is compared line by line with the book's classes.
import nnfs
import numpy as np
from nnfs.datasets import spiral_data

nnfs.init()

from chainrule.nnfs import *

X, y = spiral_data(samples=100, classes=3)
X_test, y_test = spiral_data(samples=100, classes=3)

optimizers = [
    ('SGD', Optimizer_SGD()),
    ('SGD with decay and momentum', Optimizer_SGD(decay=1e-3, momentum=0.9)),
    ('Adagrad', Optimizer_Adagrad(decay=1e-4)),
    ('RMSprop', Optimizer_RMSprop(learning_rate=0.02, decay=1e-5, rho=0.999)),
    ('Adam', Optimizer_Adam(learning_rate=0.05, decay=5e-7)),
]

for name, optimizer in optimizers:
    print(name)
    dense1 = Layer_Dense(2, 64)
    activation1 = Activation_ReLU()
    dense2 = Layer_Dense(64, 3)
    loss_activation = Activation_Softmax_Loss_CategoricalCrossentropy()

    for epoch in range(101):
        dense1.forward(X)
        activation1.forward(dense1.output)
        dense2.forward(activation1.output)
        loss = loss_activation.forward(dense2.output, y)

        predictions = np.argmax(loss_activation.output, axis=1)
        if len(y.shape) == 2:
            y = np.argmax(y, axis=1)
        accuracy = np.mean(predictions == y)

        if not epoch % 10:
            print(f'epoch: {epoch}, ' +
                  f'acc: {accuracy:.3f}, ' +
                  f'loss: {loss:.3f}, ' +
                  f'lr: {optimizer.current_learning_rate}')

        loss_activation.backward(loss_activation.output, y)
        dense2.backward(loss_activation.dinputs)
        activation1.backward(dense2.dinputs)
        dense1.backward(activation1.dinputs)

        optimizer.pre_update_params()
        optimizer.update_params(dense1)
        optimizer.update_params(dense2)
        optimizer.post_update_params()

    dense1.forward(X_test)
    activation1.forward(dense1.output)
    dense2.forward(activation1.output)
    loss = loss_activation.forward(dense2.output, y_test)
    predictions = np.argmax(loss_activation.output, axis=1)
    accuracy = np.mean(predictions == y_test)
    print(f'validation, acc: {accuracy:.3f}, loss: {loss:.3f}')
