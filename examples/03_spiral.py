"""The book's spiral network with the Model: 2-64-3, ReLU, softmax, Adam.

300 points on three interleaved spiral arms; 10,000 full-batch epochs of Adam
(learning rate 0.05, decay 5e-7), then accuracy on freshly drawn spiral points.

Run:  python examples/03_spiral.py
"""

import numpy as np

import chainrule as cr
from chainrule.datasets import spiral_data


def main(epochs: int = 10_000, seed: int = 0, verbose: bool = True) -> dict:
    np.random.seed(seed)  # the book's way: data and weights from NumPy's global generator
    X, y = spiral_data(samples=100, classes=3)
    model = cr.Model([cr.Dense(2, 64), cr.ReLU(), cr.Dense(64, 3), cr.Softmax()])
    model.set(loss=cr.CategoricalCrossentropy(),
              optimizer=cr.Adam(learning_rate=0.05, decay=5e-7))
    model.train(X, y, epochs=epochs, print_every=1000 if verbose else None)
    X_test, y_test = spiral_data(samples=100, classes=3)
    return {"train_accuracy": model.evaluate(X, y, verbose=False)["accuracy"],
            "test_accuracy": model.evaluate(X_test, y_test, verbose=verbose,
                                            name="test")["accuracy"]}


if __name__ == "__main__":
    print(main())
