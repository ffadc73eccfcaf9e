# Book-style script (chapters 18-19): the Model object, evaluation, parameters and files.
import os
import tempfile

from chainrule.nnfs import *

nnfs.init()

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
    accuracy=Accuracy_Categorical(),
)
model.finalize()
model.train(X, y, validation_data=(X_test, y_test), epochs=1000, print_every=500)

model.evaluate(X_test, y_test)
parameters = model.get_parameters()

folder = tempfile.mkdtemp()
model.save_parameters(os.path.join(folder, "spiral.parms"))
model.save(os.path.join(folder, "spiral.model"))

model2 = Model()
model2.add(Layer_Dense(2, 64))
model2.add(Activation_ReLU())
model2.add(Layer_Dropout(0.1))
model2.add(Layer_Dense(64, 3))
model2.add(Activation_Softmax())
model2.set(loss=Loss_CategoricalCrossentropy(), accuracy=Accuracy_Categorical())
model2.finalize()
model2.set_parameters(parameters)
model2.evaluate(X_test, y_test)

model2.load_parameters(os.path.join(folder, "spiral.parms"))
model2.evaluate(X_test, y_test)

model3 = Model.load(os.path.join(folder, "spiral.model"))
model3.evaluate(X_test, y_test)

confidences = model3.predict(X_test[:5])
predictions = model3.output_layer_activation.predictions(confidences)
print(predictions)
print(y_test[:5])

# Binary classification through the Model, as chapter 18 does it.
X, y = spiral_data(samples=100, classes=2)
y = y.reshape(-1, 1)
model = Model()
model.add(Layer_Dense(2, 64, weight_regularizer_l2=5e-4, bias_regularizer_l2=5e-4))
model.add(Activation_ReLU())
model.add(Layer_Dense(64, 1))
model.add(Activation_Sigmoid())
model.set(loss=Loss_BinaryCrossentropy(), optimizer=Optimizer_Adam(decay=5e-7),
          accuracy=Accuracy_Categorical(binary=True))
model.finalize()
model.train(X, y, epochs=500, print_every=500)
