"""The book's Fashion-MNIST recipe: 784-128-128-10, ReLU, softmax, Adam, batch 128.

Downloads the dataset once (about 30 MB) into ~/.cache/chainrule, checks it
against SHA-256 sums, trains 10 epochs and saves the model beside this script.

Run:  python examples/06_fashion_mnist.py
"""

import numpy as np

import chainrule as cr
from chainrule.datasets import load_fashion_mnist

LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
          "Sneaker", "Bag", "Ankle boot"]


def main(epochs: int = 10, seed: int = 0) -> dict:
    X, y, X_test, y_test = load_fashion_mnist()
    rng = np.random.default_rng(seed)
    model = cr.Model([cr.Dense(784, 128, init="he", rng=rng), cr.ReLU(),
                      cr.Dense(128, 128, init="he", rng=rng), cr.ReLU(),
                      cr.Dense(128, 10, init="glorot", rng=rng), cr.Softmax()])
    model.set(loss=cr.CategoricalCrossentropy(), optimizer=cr.Adam(decay=1e-3))
    model.train(X, y, epochs=epochs, batch_size=128, rng=rng, validation_data=(X_test, y_test),
                print_every=100)
    model.save("fashion_mnist.model")
    predictions = model.output_layer_activation.predictions(model.predict(X_test[:5]))
    for predicted, actual in zip(predictions, y_test[:5], strict=True):
        print(f"predicted {LABELS[predicted]:<12} actual {LABELS[actual]}")
    return {"test_accuracy": model.history["val_accuracy"][-1]}


if __name__ == "__main__":
    print(main())
