"""Regression: fit one period of a sine wave with 1-64-64-1, ReLU, a linear output, MSE.

Run:  python examples/05_sine.py
"""

import chainrule as cr
from chainrule.datasets import sine_data


def main(epochs: int = 1000, seed: int = 0, verbose: bool = True) -> dict:
    X, y = sine_data()
    model = cr.Model([cr.Dense(1, 64, init="he", rng=seed), cr.ReLU(),
                      cr.Dense(64, 64, init="he", rng=seed + 1), cr.ReLU(),
                      cr.Dense(64, 1, init="glorot", rng=seed + 2), cr.Linear()])
    model.set(loss=cr.MeanSquaredError(), optimizer=cr.Adam(learning_rate=0.005, decay=1e-3))
    model.train(X, y, epochs=epochs, print_every=100 if verbose else None)
    return {"mse": model.evaluate(X, y, verbose=False)["loss"]}


if __name__ == "__main__":
    print(main())
