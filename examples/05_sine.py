"""Regression: fit one period of a sine wave with 1-64-64-1, ReLU, a linear output, MSE.

The book's lines print an ``acc`` for regression too. It is not a score of the fit
in the usual sense: it is the fraction of predictions within ``std(y) / 250`` of
their target (``chainrule.RegressionAccuracy``, the book's rule). For this sine,
std(y) = 0.707, so a prediction counts only within ±0.0028: a fit whose errors
are around 0.01 (an MSE near 0.0002, a curve that lies on the sine) still has an
``acc`` well under one half. Judge a regression by its loss (the MSE here), or by
the root of it (in the target's units); the example prints both, with the book's
``acc`` and what it counted.

Run:  python examples/05_sine.py
"""

import numpy as np

import chainrule as cr
from chainrule.datasets import sine_data


def main(epochs: int = 1000, seed: int = 0, verbose: bool = True) -> dict:
    X, y = sine_data()
    model = cr.Model([cr.Dense(1, 64, init="he", rng=seed), cr.ReLU(),
                      cr.Dense(64, 64, init="he", rng=seed + 1), cr.ReLU(),
                      cr.Dense(64, 1, init="glorot", rng=seed + 2), cr.Linear()])
    model.set(loss=cr.MeanSquaredError(), optimizer=cr.Adam(learning_rate=0.005, decay=1e-3))
    if verbose:
        print(f'"acc" below is the book\'s regression accuracy: the fraction of predictions '
              f"within std(y)/250 = {np.std(y) / 250:.4f} of their target.")
    model.train(X, y, epochs=epochs, print_every=100 if verbose else None)
    scores = model.evaluate(X, y, verbose=False)
    precision = model.accuracy.precision  # std(y) / 250, set from the training targets
    errors = np.abs(model.predict(X) - y)
    result = {"mse": scores["loss"], "rmse": float(np.sqrt(scores["loss"])),
              "largest_error": float(errors.max()), "accuracy": scores["accuracy"],
              "precision": precision}
    if verbose:
        right = int(np.count_nonzero(errors <= precision))
        print(f"\nafter {epochs} epochs, on the {len(X)} points (targets from -1 to 1, "
              f"std {np.std(y):.3f}):")
        print(f"  loss (MSE) {result['mse']:.6f}: RMSE {result['rmse']:.4f}, largest error "
              f"{result['largest_error']:.4f} (in the target's units)")
        print(f"  book's acc {result['accuracy']:.3f}: {right} of {len(X)} predictions within "
              f"±{precision:.4f} (std(y)/250) of their target: a strict tolerance, not a "
              "measure of the fit")
    return result


if __name__ == "__main__":
    main()
