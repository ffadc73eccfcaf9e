# The seed notebook's cells [1]-[2] put to work: dense -> ReLU -> dense -> softmax -> loss.
# Its imports are replaced by one line; everything else is as the seed writes it.
from chainrule.nnfs import *

nnfs.init()

X, y = spiral_data(samples=100, classes=3)

dense1 = Layer_Dense(2, 3)
activation1 = Activation_ReLU()
dense2 = Layer_Dense(3, 3)
activation2 = Activation_Softmax()
loss_function = Loss_CategoricalCrossEntropy()

dense1.forward(X)
activation1.forward(dense1.output)
dense2.forward(activation1.output)
activation2.forward(dense2.output)
print(activation2.output[:5])

loss = loss_function.calculate(activation2.output, y)
print("loss:", loss)

X, y = vertical_data(samples=100, classes=3)
dense1.forward(X)
activation1.forward(dense1.output)
dense2.forward(activation1.output)
activation2.forward(dense2.output)
print("vertical loss:", loss_function.calculate(activation2.output, y))
