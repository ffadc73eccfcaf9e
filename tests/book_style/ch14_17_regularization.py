# Book-style script (chapters 14-17): L2 regularization read through
# loss_activation.loss.regularization_loss(layer), dropout called without `training`,
# every optimizer driven by hand, a sigmoid + binary cross-entropy model, and regression.
import numpy as np

from chainrule.nnfs import *

nnfs.init()

X, y = spiral_data(samples=100, classes=3)
dense1 = Layer_Dense(2, 64, weight_regularizer_l2=5e-4, bias_regularizer_l2=5e-4)
activation1 = Activation_ReLU()
dropout1 = Layer_Dropout(0.1)
dense2 = Layer_Dense(64, 3)
loss_activation = Activation_Softmax_Loss_CategoricalCrossentropy()

for optimizer in (Optimizer_SGD(decay=1e-3, momentum=0.9), Optimizer_Adagrad(decay=1e-4),
                  Optimizer_RMSprop(learning_rate=0.02, decay=1e-5, rho=0.999),
                  Optimizer_Adam(learning_rate=0.02, decay=5e-7)):
    for epoch in range(201):
        dense1.forward(X)
        activation1.forward(dense1.output)
        dropout1.forward(activation1.output)
        dense2.forward(dropout1.output)
        data_loss = loss_activation.forward(dense2.output, y)
        regularization_loss = (loss_activation.loss.regularization_loss(dense1) +
                               loss_activation.loss.regularization_loss(dense2))
        loss = data_loss + regularization_loss
        accuracy = np.mean(np.argmax(loss_activation.output, axis=1) == y)
        loss_activation.backward(loss_activation.output, y)
        dense2.backward(loss_activation.dinputs)
        dropout1.backward(dense2.dinputs)
        activation1.backward(dropout1.dinputs)
        dense1.backward(activation1.dinputs)
        optimizer.pre_update_params()
        optimizer.update_params(dense1)
        optimizer.update_params(dense2)
        optimizer.post_update_params()
    print(f"{type(optimizer).__name__}: acc: {accuracy:.3f}, loss: {loss:.3f} "
          f"(data_loss: {data_loss:.3f}, reg_loss: {regularization_loss:.3f})")

# Binary logistic regression (chapter 16): labels as a column.
X, y = spiral_data(samples=100, classes=2)
y = y.reshape(-1, 1)
dense1 = Layer_Dense(2, 64, weight_regularizer_l2=5e-4, bias_regularizer_l2=5e-4)
activation1 = Activation_ReLU()
dense2 = Layer_Dense(64, 1)
activation2 = Activation_Sigmoid()
loss_function = Loss_BinaryCrossentropy()
optimizer = Optimizer_Adam(decay=5e-7)
for epoch in range(2001):
    dense1.forward(X)
    activation1.forward(dense1.output)
    dense2.forward(activation1.output)
    activation2.forward(dense2.output)
    data_loss = loss_function.calculate(activation2.output, y)
    predictions = (activation2.output > 0.5) * 1
    accuracy = np.mean(predictions == y)
    loss_function.backward(activation2.output, y)
    activation2.backward(loss_function.dinputs)
    dense2.backward(activation2.dinputs)
    activation1.backward(dense2.dinputs)
    dense1.backward(activation1.dinputs)
    optimizer.pre_update_params()
    optimizer.update_params(dense1)
    optimizer.update_params(dense2)
    optimizer.post_update_params()
print(f"binary: acc: {accuracy:.3f}, loss: {data_loss:.3f}")

# Regression (chapter 17): sine data, linear output, accuracy within std(y) / 250.
X, y = sine_data()
dense1 = Layer_Dense(1, 64)
activation1 = Activation_ReLU()
dense2 = Layer_Dense(64, 64)
activation2 = Activation_ReLU()
dense3 = Layer_Dense(64, 1)
activation3 = Activation_Linear()
loss_function = Loss_MeanSquaredError()
optimizer = Optimizer_Adam(learning_rate=0.005, decay=1e-3)
accuracy_precision = np.std(y) / 250
for epoch in range(3001):
    dense1.forward(X)
    activation1.forward(dense1.output)
    dense2.forward(activation1.output)
    activation2.forward(dense2.output)
    dense3.forward(activation2.output)
    activation3.forward(dense3.output)
    data_loss = loss_function.calculate(activation3.output, y)
    accuracy = np.mean(np.absolute(activation3.output - y) < accuracy_precision)
    loss_function.backward(activation3.output, y)
    activation3.backward(loss_function.dinputs)
    dense3.backward(activation3.dinputs)
    activation2.backward(dense3.dinputs)
    dense2.backward(activation2.dinputs)
    activation1.backward(dense2.dinputs)
    dense1.backward(activation1.dinputs)
    optimizer.pre_update_params()
    optimizer.update_params(dense1)
    optimizer.update_params(dense2)
    optimizer.update_params(dense3)
    optimizer.post_update_params()
print(f"regression: acc: {accuracy:.3f}, loss: {data_loss:.5f}")
