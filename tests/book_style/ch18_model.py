# Book-style script (chapter 18): the Model object trained on the whole data set at once,
# for classification (with L2 regularization and dropout), binary logistic regression and
# regression. The book trains for 10,000 epochs and prints every 100; here 100 and 10,
# since training amplifies rounding differences and the comparison is with the book's classes.
import nnfs
from nnfs.datasets import sine_data, spiral_data

nnfs.init()

from chainrule.nnfs import *

# Classification
X, y = spiral_data(samples=100, classes=3)
X_test, y_test = spiral_data(samples=100, classes=3)

model = Model()
model.add(Layer_Dense(2, 64, weight_regularizer_l2=5e-4, bias_regularizer_l2=5e-4))
model.add(Activation_ReLU())
model.add(Layer_Dropout(0.1))
model.add(Layer_Dense(64, 3))
model.add(Activation_Softmax())
model.set(
    loss=Loss_CategoricalCrossentropy(),
    optimizer=Optimizer_Adam(learning_rate=0.05, decay=5e-5),
    accuracy=Accuracy_Categorical()
)
model.finalize()
model.train(X, y, validation_data=(X_test, y_test), epochs=100, print_every=10)

# Binary logistic regression
X, y = spiral_data(samples=100, classes=2)
X_test, y_test = spiral_data(samples=100, classes=2)
y = y.reshape(-1, 1)
y_test = y_test.reshape(-1, 1)

model = Model()
model.add(Layer_Dense(2, 64, weight_regularizer_l2=5e-4, bias_regularizer_l2=5e-4))
model.add(Activation_ReLU())
model.add(Layer_Dense(64, 1))
model.add(Activation_Sigmoid())
model.set(
    loss=Loss_BinaryCrossentropy(),
    optimizer=Optimizer_Adam(decay=5e-7),
    accuracy=Accuracy_Categorical(binary=True)
)
model.finalize()
model.train(X, y, validation_data=(X_test, y_test), epochs=100, print_every=10)

# Regression
X, y = sine_data()

model = Model()
model.add(Layer_Dense(1, 64))
model.add(Activation_ReLU())
model.add(Layer_Dense(64, 64))
model.add(Activation_ReLU())
model.add(Layer_Dense(64, 1))
model.add(Activation_Linear())
model.set(
    loss=Loss_MeanSquaredError(),
    optimizer=Optimizer_Adam(learning_rate=0.005, decay=1e-3),
    accuracy=Accuracy_Regression()
)
model.finalize()
model.train(X, y, epochs=100, print_every=10)
