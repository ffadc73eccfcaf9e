"""Handwritten digits (scikit-learn's 8×8 images): 64-128-10, ReLU, Adam, minibatches.

1,797 images, a quarter held out for testing; 30 epochs of batch 32.
Needs scikit-learn (pip install 'chainrule[data]').

Run:  python examples/04_digits.py
"""

import numpy as np

import chainrule as cr
from chainrule.datasets import load_digits


def main(epochs: int = 30, seed: int = 0, verbose: bool = True) -> dict:
    X, y = load_digits()
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(X))
    n_test = len(X) // 4
    test, train = order[:n_test], order[n_test:]

    model = cr.Model([cr.Dense(64, 128, init="he", rng=rng), cr.ReLU(),
                      cr.Dense(128, 10, init="glorot", rng=rng), cr.Softmax()])
    model.set(loss=cr.CategoricalCrossentropy(), optimizer=cr.Adam(learning_rate=1e-3))
    model.train(X[train], y[train], epochs=epochs, batch_size=32, rng=rng,
                validation_data=(X[test], y[test]), print_every=100 if verbose else None)
    return {"test_accuracy": model.history["val_accuracy"][-1]}


if __name__ == "__main__":
    print(main())
