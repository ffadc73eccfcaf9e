# Book-style script (chapters 20-22): evaluation, the parameters handed from one model to
# another, saved and loaded, the whole model saved and loaded, and predictions — in
# batches, turned into labels, and for one image read and prepared as chapter 22 does.
import os

import cv2
import nnfs
import numpy as np

nnfs.init()

from chainrule.nnfs import *


def load_mnist_dataset(dataset, path):
    labels = os.listdir(os.path.join(path, dataset))
    X = []
    y = []
    for label in labels:
        for file in os.listdir(os.path.join(path, dataset, label)):
            image = cv2.imread(os.path.join(path, dataset, label, file), cv2.IMREAD_UNCHANGED)
            X.append(image)
            y.append(label)
    return np.array(X), np.array(y).astype('uint8')


def create_data_mnist(path):
    X, y = load_mnist_dataset('train', path)
    X_test, y_test = load_mnist_dataset('test', path)
    return X, y, X_test, y_test


fashion_mnist_labels = {
    0: 'T-shirt/top',
    1: 'Trouser',
    2: 'Pullover',
    3: 'Dress',
    4: 'Coat',
    5: 'Sandal',
    6: 'Shirt',
    7: 'Sneaker',
    8: 'Bag',
    9: 'Ankle boot'
}

X, y, X_test, y_test = create_data_mnist('fashion_mnist_images')
keys = np.array(range(X.shape[0]))
np.random.shuffle(keys)
X = X[keys]
y = y[keys]
X = (X.reshape(X.shape[0], -1).astype(np.float32) - 127.5) / 127.5
X_test = (X_test.reshape(X_test.shape[0], -1).astype(np.float32) - 127.5) / 127.5


def new_model():
    model = Model()
    model.add(Layer_Dense(X.shape[1], 128))
    model.add(Activation_ReLU())
    model.add(Layer_Dense(128, 128))
    model.add(Activation_ReLU())
    model.add(Layer_Dense(128, 10))
    model.add(Activation_Softmax())
    return model


# Chapter 20: train, then evaluate on the training and the test data
model = new_model()
model.set(
    loss=Loss_CategoricalCrossentropy(),
    optimizer=Optimizer_Adam(decay=1e-3),
    accuracy=Accuracy_Categorical()
)
model.finalize()
model.train(X, y, validation_data=(X_test, y_test), epochs=5, batch_size=128, print_every=100)
model.evaluate(X, y)
model.evaluate(X_test, y_test, batch_size=32)

# Chapter 21: the parameters into a model without an optimizer
parameters = model.get_parameters()
model.save_parameters('fashion_mnist.parms')
model.save('fashion_mnist.model')

model = new_model()
model.set(loss=Loss_CategoricalCrossentropy(), accuracy=Accuracy_Categorical())
model.finalize()
model.set_parameters(parameters)
model.evaluate(X_test, y_test)

model = new_model()
model.set(loss=Loss_CategoricalCrossentropy(), accuracy=Accuracy_Categorical())
model.finalize()
model.load_parameters('fashion_mnist.parms')
model.evaluate(X_test, y_test)

model = Model.load('fashion_mnist.model')
model.evaluate(X_test, y_test)

# Chapter 22: predictions, in batches, as labels
confidences = model.predict(X_test[:5])
predictions = model.output_layer_activation.predictions(confidences)
print(predictions)
print(y_test[:5])
for prediction in predictions:
    print(fashion_mnist_labels[prediction])

confidences = model.predict(X_test, batch_size=16)
predictions = model.output_layer_activation.predictions(confidences)
print(confidences.shape, np.mean(predictions == y_test))

# A picture from elsewhere: grey scale, 28x28, inverted (light clothes on a dark ground)
image_data = cv2.imread('tshirt.png', cv2.IMREAD_GRAYSCALE)
image_data = cv2.resize(image_data, (28, 28))
image_data = 255 - image_data
image_data = (image_data.reshape(1, -1).astype(np.float32) - 127.5) / 127.5
confidences = model.predict(image_data)
predictions = model.output_layer_activation.predictions(confidences)
prediction = fashion_mnist_labels[predictions[0]]
print(prediction)
